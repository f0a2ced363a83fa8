'use strict';
// sfjwt-orch loopback guard: keeps a Node program (the real `sf` CLI) on loopback.
//
// Load it before the program starts:  NODE_OPTIONS="--require /abs/path/loopback_guard.cjs"
//
// Why: when a token request fails, sf also tries https://login.salesforce.com and
// https://test.salesforce.com (sfdx-core getLoginAudienceCombos). A test against the local emulator
// must never send those attempts, nor the DNS queries before them, off the machine.
//
// What it does:
// - dns.lookup / dns.promises.lookup: `localhost` (and *.localhost) answer 127.0.0.1 / ::1 locally,
//   IP literals answer themselves, every other name fails at once with ENOTFOUND.
// - dns.resolve* / dns.reverse / dns.lookupService (callback, promise and Resolver forms): the same
//   rule; nothing reaches c-ares for a remote name.
// - net.Socket.prototype.connect (under net.connect, tls.connect, http, undici/fetch): a non-loopback
//   IP target fails with ECONNREFUSED and a non-loopback name with ENOTFOUND, both emitted
//   asynchronously like real network errors, so the program reports them ("fetch failed").
// Each block appends one JSON line {"blocked": "dns"|"connect", "host": ..., "pid": ...} to the file
// named by SFJWT_ORCH_GUARD_LOG, when that is set, so tests can prove the attempts were stopped here.
//
// Pitfall this file is careful about: dns.lookup carries a custom promisify hook in Node; a
// replacement without one made util.promisify(dns.lookup) resolve to a bare string, and sf then
// exited 0 while silently skipping requests. The replacement defines util.promisify.custom.

const dns = require('node:dns');
const dnsPromises = require('node:dns/promises');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const util = require('node:util');

const INSTALLED = Symbol.for('sfjwt-orch.loopback-guard');

function logBlock(kind, host) {
  const file = process.env.SFJWT_ORCH_GUARD_LOG;
  if (!file) return;
  try {
    fs.appendFileSync(file, JSON.stringify({ blocked: kind, host: String(host), pid: process.pid }) + '\n');
  } catch {
    // A log that cannot be written must never change the guarded program's behaviour.
  }
}

function bare(host) {
  const text = String(host);
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

function isLoopbackIp(host) {
  const address = bare(host).toLowerCase();
  const version = net.isIP(address);
  if (version === 4) return address.startsWith('127.');
  if (version === 6) {
    return address === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(address) || /^::ffff:127\./.test(address);
  }
  return false;
}

function isLoopbackName(host) {
  const name = String(host).toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost'); // RFC 6761 §6.3
}

// The addresses a lookup of `host` may answer, or null when the host must not be resolved.
function localAnswers(host, family) {
  const literal = bare(host);
  const version = net.isIP(literal);
  if (version) return [{ address: literal, family: version }]; // no DNS involved, as in Node itself
  if (!isLoopbackName(literal)) return null;
  // IPv4 first: the emulator listens on 127.0.0.1 by default.
  const all = [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }];
  return family === 4 || family === 6 ? all.filter((a) => a.family === family) : all;
}

function dnsError(syscall, host, code = 'ENOTFOUND') {
  const err = new Error(`${syscall} ${code} ${host}`);
  if (syscall === 'getaddrinfo') err.errno = code === 'ENOTFOUND' ? -3008 : undefined; // UV_EAI_NONAME
  err.code = code;
  err.syscall = syscall;
  err.hostname = String(host);
  return err;
}

function refusedError(host, port) {
  const err = new Error(`connect ECONNREFUSED ${host}:${port} (blocked by the sfjwt-orch loopback guard)`);
  err.errno = -os.constants.errno.ECONNREFUSED;
  err.code = 'ECONNREFUSED';
  err.syscall = 'connect';
  err.address = String(host);
  if (port !== undefined) err.port = Number(port);
  return err;
}

function lookupOptions(options) {
  if (typeof options === 'number') return { family: options, all: false };
  if (!options || typeof options !== 'object') return { family: 0, all: false };
  let family = options.family;
  if (family === 'IPv4') family = 4;
  if (family === 'IPv6') family = 6;
  return { family: Number(family) || 0, all: options.all === true };
}

function install() {
  const originalLookup = dns.lookup;

  function lookup(hostname, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = 0;
    }
    // Odd calls (no callback, empty host) go to Node's own lookup, which validates them and never
    // touches the network for them.
    if (typeof callback !== 'function' || !hostname) {
      return originalLookup.call(this, hostname, options, callback);
    }
    const { family, all } = lookupOptions(options);
    const answers = localAnswers(hostname, family);
    if (!answers || answers.length === 0) {
      logBlock('dns', hostname);
      process.nextTick(callback, dnsError('getaddrinfo', hostname));
    } else if (all) {
      process.nextTick(callback, null, answers.map((a) => ({ ...a })));
    } else {
      process.nextTick(callback, null, answers[0].address, answers[0].family);
    }
    return {};
  }

  function promiseLookup(hostname, options) {
    return new Promise((resolve, reject) => {
      lookup(hostname, options, (err, address, family) => {
        if (err) reject(err);
        else resolve(Array.isArray(address) ? address : { address, family });
      });
    });
  }

  // util.promisify(dns.lookup) must keep resolving to {address, family} (see the pitfall above).
  Object.defineProperty(lookup, util.promisify.custom, { value: promiseLookup, configurable: true });
  dns.lookup = lookup;

  function lookupService(address, port, callback) {
    if (typeof callback !== 'function') return undefined;
    if (isLoopbackIp(address)) {
      process.nextTick(callback, null, 'localhost', String(port));
    } else {
      logBlock('dns', address);
      process.nextTick(callback, dnsError('getnameinfo', address));
    }
    return {};
  }
  dns.lookupService = lookupService;

  // ---- resolve*: answered locally for loopback names, refused for everything else.
  const RESOLVE_TYPES = {
    resolve4: 'A', resolve6: 'AAAA', resolveAny: 'ANY', resolveCaa: 'CAA', resolveCname: 'CNAME',
    resolveMx: 'MX', resolveNaptr: 'NAPTR', resolveNs: 'NS', resolvePtr: 'PTR', resolveSoa: 'SOA',
    resolveSrv: 'SRV', resolveTxt: 'TXT',
  };

  function resolveLocally(method, host, extra) {
    if (method === 'reverse') {
      if (isLoopbackIp(host)) return { value: ['localhost'] };
      logBlock('dns', host);
      return { error: dnsError('getHostByAddr', host) };
    }
    const type = method === 'resolve' ? String(typeof extra === 'string' ? extra : 'A').toUpperCase()
      : RESOLVE_TYPES[method];
    const syscall = `query${type.charAt(0)}${type.slice(1).toLowerCase()}`;
    if (!isLoopbackName(host) && !isLoopbackIp(host)) {
      logBlock('dns', host);
      return { error: dnsError(syscall, host) };
    }
    const ttl = extra && typeof extra === 'object' && extra.ttl === true;
    if (type === 'A') return { value: ttl ? [{ address: '127.0.0.1', ttl: 0 }] : ['127.0.0.1'] };
    if (type === 'AAAA') return { value: ttl ? [{ address: '::1', ttl: 0 }] : ['::1'] };
    return { error: dnsError(syscall, host, 'ENODATA') };
  }

  function callbackResolver(method) {
    return function guardedResolve(host, ...rest) {
      const callback = rest.pop();
      if (typeof callback !== 'function') throw new TypeError('The "callback" argument must be of type function');
      const { error, value } = resolveLocally(method, host, rest[0]);
      process.nextTick(callback, error || null, value);
      return {};
    };
  }

  function promiseResolver(method) {
    return function guardedResolve(host, extra) {
      const { error, value } = resolveLocally(method, host, extra);
      return error ? Promise.reject(error) : Promise.resolve(value);
    };
  }

  const methods = ['resolve', 'reverse', ...Object.keys(RESOLVE_TYPES)];
  for (const method of methods) {
    for (const target of [dns, dns.Resolver && dns.Resolver.prototype]) {
      if (target && typeof target[method] === 'function') target[method] = callbackResolver(method);
    }
    for (const target of [dnsPromises, dnsPromises.Resolver && dnsPromises.Resolver.prototype]) {
      if (target && typeof target[method] === 'function') target[method] = promiseResolver(method);
    }
  }
  for (const promises of new Set([dnsPromises, dns.promises])) {
    if (!promises) continue;
    promises.lookup = promiseLookup;
    promises.lookupService = (address, port) => new Promise((resolve, reject) => {
      lookupService(address, port, (err, hostname, service) => (err ? reject(err) : resolve({ hostname, service })));
    });
    for (const method of methods) {
      if (typeof promises[method] === 'function') promises[method] = promiseResolver(method);
    }
  }

  // ---- connect: the last gate before a packet leaves.
  function connectTarget(args) {
    let first = args[0];
    if (Array.isArray(first)) first = first[0]; // net's internal "normalized args" form
    let host;
    let port;
    if (first !== null && typeof first === 'object') {
      if (first.path) return null; // a Unix socket or named pipe, not the network
      host = first.host;
      port = first.port;
    } else if (typeof first === 'string' && !/^\s*\d+\s*$/.test(first)) {
      return null; // connect(path)
    } else {
      port = first;
      host = typeof args[1] === 'string' ? args[1] : undefined;
    }
    const name = bare(host === undefined || host === null || host === '' ? 'localhost' : host);
    if (net.isIP(name)) return isLoopbackIp(name) ? null : { kind: 'connect', host: name, port };
    return isLoopbackName(name) ? null : { kind: 'dns', host: name, port };
  }

  const originalConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    const blocked = connectTarget(args);
    if (!blocked) return originalConnect.apply(this, args);
    logBlock(blocked.kind, blocked.host);
    // A name is refused as the lookup would refuse it, whatever custom `lookup` option was passed.
    const err = blocked.kind === 'dns' ? dnsError('getaddrinfo', blocked.host) : refusedError(blocked.host, blocked.port);
    process.nextTick(() => this.destroy(err));
    return this;
  };
}

if (!globalThis[INSTALLED]) {
  globalThis[INSTALLED] = true; // loading the guard twice (NODE_OPTIONS plus a child) must not double-wrap
  install();
}
