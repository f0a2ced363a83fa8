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
// One process, many logins: core keeps one cache of auth files per process (StateAggregator's
// OrgAccessor, a map username -> AuthInfoConfig), and a login's last step, the scratch-org check,
// reads every auth file in ~/.sfdx anew into it (AuthInfo.listAllAuthorizations -> orgs.readAll,
// then AuthInfo.create per username; core 9.4.0 lib/org/authInfo.js, stateAggregator/accessors/
// orgAccessor.js). A file another login is rewriting at that moment reads as empty (core's
// ConfigFile.write truncates and rewrites in place; ConfigFile.read checks the lock before it reads,
// not while, and takes unparsable JSON as {}), and that empty entry replaces the writer's own: its
// answer then came back without an org id or username (seen once under load). So the steps that
// write auth, alias and config files or read them all (save, aliases and defaults, the answer, the
// scratch-org check, removing an old auth) run one login at a time (`serially`), while signing and
// HTTP (AuthInfo.create) stay concurrent; create's own save can still race a scan, and the login's
// next save heals that (ConfigFile.write merges what is on disk into the entry). The helper vouches
// for each answer: a success must name the username asked for and an org id, or it answers
// {"fallback": why} and sfjwt-orch logs that alias in with sf instead.
//
// Protocol (JSON lines; stdin in, stdout out; nothing secret ever goes on argv):
//   in  {"cli_dir": "<@salesforce/cli's package folder>", "parallel": N}     once, first
//   out {"ready": true, "core": "<version>", "plugin_auth": "<version>"}  or  {"ready": false, "error": "..."}
//   in  {"id": 1, "alias", "username", "client_id", "key_file", "instance_url", "set_default", "set_default_dev_hub"}
//   out {"id": 1, "exit": 0|1, "doc": {...what sf --json prints...}}  or  {"id": 1, "fallback": "<why>"}
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

// The steps that touch auth, alias and config files, one at a time in the order asked (see above);
// a step that fails does not stop the ones after it.
let fileSteps = Promise.resolve();
function serially(step) {
  const run = fileSteps.then(step);
  fileSteps = run.catch(() => {});
  return run;
}

// Why this answer cannot be vouched for as this login's, or null.
function unvouched(req, fields) {
  if (typeof fields.orgId !== 'string' || !fields.orgId) return 'its answer names no org id';
  const username = typeof fields.username === 'string' ? fields.username : '';
  if (username.toLowerCase() !== String(req.username).toLowerCase()) {
    return username ? `its answer names another user (${username})` : 'its answer names no username';
  }
  return null;
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
      authInfo = await AuthInfo.create({ username: req.username, oauth2Options }); // concurrent: signing, HTTP
    } catch (error) {
      if (error.name !== 'AuthInfoOverwriteError') throw error;
      await serially(async () => (await AuthRemover.create()).removeAuth(req.username));
      authInfo = await AuthInfo.create({ username: req.username, oauth2Options });
    }
    result = await serially(async () => {
      await authInfo.save();
      await authInfo.handleAliasAndDefaultSettings({
        alias: req.alias,
        setDefault: Boolean(req.set_default),
        setDefaultDevHub: Boolean(req.set_default_dev_hub),
      });
      const fields = authInfo.getFields(true);
      await AuthInfo.identifyPossibleScratchOrgs(fields, authInfo);
      return fields;
    });
  } catch (err) {
    const msg = err instanceof Error ? `${err.name}::${err.message}` : typeof err === 'string' ? err : 'UNKNOWN';
    return failure('JwtGrantError', lib.messages.jwt.getMessage('JwtGrantError', [msg]), 1);
  }
  const why = unvouched(req, result || {});
  if (why) return { fallback: `cannot vouch for this login: ${why}` };
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
