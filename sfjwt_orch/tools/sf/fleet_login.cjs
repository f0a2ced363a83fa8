'use strict';
// sfjwt-orch's fleet helper: many JWT logins from one Node process, with the @salesforce/core of
// the sf in use, so a fleet pays one Node start instead of one per alias (issue 26).
//
// Each login does what sf's own `org login jwt` does (salesforcecli/plugin-auth
// src/commands/org/login/jwt.ts, read at plugin-auth 5.0.6 as bundled with sf 2.150.6):
// the login URL is the instance URL's href, a Lightning domain is refused (common.ts
// throwIfLightning), AuthInfo.create({username, oauth2Options: {clientId, privateKeyFile,
// loginUrl}}) (an AuthInfoOverwriteError removes the old auth and creates it again), save,
// handleAliasAndDefaultSettings({alias, setDefault, setDefaultDevHub}), getFields(true) and
// AuthInfo.identifyPossibleScratchOrgs. A failure is wrapped as the command wraps it
// (SfError "JwtGrantError" with plugin-auth's own message text), and each answer is the document
// `sf org login jwt --json` prints, so sfjwt-orch's parser classifies it as it classifies sf.
//
// Protocol (JSON lines; stdin in, stdout out; nothing secret ever goes on argv):
//   in  {"cli_dir": "<@salesforce/cli's package folder>", "parallel": N}     once, first
//   out {"ready": true, "core": "<version>", "plugin_auth": "<version>"}  or  {"ready": false, "error": "..."}
//   in  {"id": 1, "alias", "username", "client_id", "key_file", "instance_url", "set_default", "set_default_dev_hub"}
//   out {"id": 1, "exit": 0|1, "doc": {...what sf --json prints...}}
// The helper ends when its stdin closes, once every login it started has answered.

const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');
const { createRequire } = require('node:module');

function send(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

// The folder of `name` as Node would find it from `fromDir` (npm may hoist it beside the CLI or
// nest it inside), without going through the package's "exports" (which may hide package.json).
function packageDir(name, fromDir) {
  const lookup = createRequire(path.join(fromDir, 'package.json')).resolve.paths(name) || [];
  for (const dir of lookup) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`${name} is not installed beside ${fromDir}`);
}

function version(dir) {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
}

// The core that sf's `org login jwt` itself runs: the one plugin-auth resolves (never a second copy).
function load(cliDir) {
  const authDir = packageDir('@salesforce/plugin-auth', cliDir);
  const coreDir = packageDir('@salesforce/core', authDir);
  const core = require(coreDir);
  core.Messages.importMessagesDirectory(path.join(authDir, 'lib'), true, '@salesforce/plugin-auth');
  const messages = {
    jwt: core.Messages.loadMessages('@salesforce/plugin-auth', 'jwt.grant'),
    common: core.Messages.loadMessages('@salesforce/plugin-auth', 'messages'),
    secrets: core.Messages.loadMessages('@salesforce/plugin-auth', 'secrets-redacted'),
  };
  return { core, messages, coreVersion: version(coreDir), authVersion: version(authDir) };
}

function failure(name, message, exitCode) {
  return { exit: exitCode, doc: { status: exitCode, name, code: name, message, exitCode, commandName: 'LoginJwt', warnings: [] } };
}

async function login(lib, req) {
  const { AuthInfo, AuthRemover, SfdcUrl } = lib.core;
  let loginUrl;
  try {
    loginUrl = new URL(req.instance_url).href; // oclif's Flags.url, then `.href`
  } catch (err) {
    return failure('FlagsError', `Parsing --instance-url \n\t${err.message}`, 2);
  }
  const url = new SfdcUrl(loginUrl);
  if (url.isLightningDomain() || (url.isInternalUrl() && url.origin.includes('.lightning.'))) {
    return failure('LightningDomain', lib.messages.common.getMessage('lightningInstanceUrl'), 1);
  }
  const oauth2Options = { clientId: req.client_id, privateKeyFile: req.key_file, loginUrl };
  let result;
  try {
    let authInfo;
    try {
      authInfo = await AuthInfo.create({ username: req.username, oauth2Options });
    } catch (error) {
      if (error.name !== 'AuthInfoOverwriteError') throw error;
      await (await AuthRemover.create()).removeAuth(req.username);
      authInfo = await AuthInfo.create({ username: req.username, oauth2Options });
    }
    await authInfo.save();
    await authInfo.handleAliasAndDefaultSettings({
      alias: req.alias,
      setDefault: Boolean(req.set_default),
      setDefaultDevHub: Boolean(req.set_default_dev_hub),
    });
    result = authInfo.getFields(true);
    await AuthInfo.identifyPossibleScratchOrgs(result, authInfo);
  } catch (err) {
    const msg = err instanceof Error ? `${err.name}::${err.message}` : typeof err === 'string' ? err : 'UNKNOWN';
    return failure('JwtGrantError', lib.messages.jwt.getMessage('JwtGrantError', [msg]), 1);
  }
  // common.redactAuthFields: never a token in the answer (SF_TEMP_SHOW_SECRETS is dropped by sfjwt-orch).
  const redacted = {
    ...result,
    accessToken: result.accessToken ? lib.messages.secrets.getMessage('redacted.accessToken') : undefined,
    refreshToken: undefined,
    clientSecret: undefined,
    password: undefined,
  };
  return { exit: 0, doc: { status: 0, result: redacted, warnings: [] } };
}

async function main() {
  const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
  let lib = null;
  let limit = 1;
  let running = 0;
  const queue = [];
  const started = [];
  const next = () => {
    while (running < limit && queue.length > 0) {
      const req = queue.shift();
      running += 1;
      const done = login(lib, req)
        .catch((err) => failure('JwtGrantError', String(err && err.message ? err.message : err), 1))
        .then((answer) => {
          send({ id: req.id, ...answer });
          running -= 1;
          next();
        });
      started.push(done);
    }
  };
  for await (const line of lines) {
    if (!line.trim()) continue;
    const msg = JSON.parse(line);
    if (lib === null) {
      try {
        lib = load(msg.cli_dir);
      } catch (err) {
        send({ ready: false, error: String(err && err.message ? err.message : err).split('\n')[0] });
        return;
      }
      limit = Math.max(1, Number(msg.parallel) || 1);
      send({ ready: true, core: lib.coreVersion, plugin_auth: lib.authVersion });
      continue;
    }
    queue.push(msg);
    next();
  }
  // stdin has closed: wait for every login started, including those started while waiting.
  while (queue.length > 0 || running > 0) await Promise.all(started);
}

// Exit once stdout has been written out (pipes are asynchronous on macOS: an early exit would cut
// the last answers); exiting at all ends sockets and timers core may keep open.
main().then(
  () => process.stdout.write('', () => process.exit(0)),
  (err) => {
    process.stderr.write(`sfjwt-orch fleet helper: ${err && err.stack ? err.stack : err}\n`);
    process.exit(70);
  },
);
