'use strict';
// A Node preload (NODE_OPTIONS=--require) for tests/e2e/test_fleet_e2e.py: sf's auth files in
// ~/.sfdx (<username>.json) are read and written slowly, as on a machine under heavy load, so that
// the windows the fleet's one-process logins could race in are wide open instead of a few
// microseconds. A write truncates the file, waits, then writes (core's ConfigFile.write rewrites in
// place); a read starts a while after it was asked for (after core's check of the file's lock).
// Nothing is faked: every byte is still read and written by core, only later.
const fs = require('node:fs');

const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const authFile = (file) => typeof file === 'string' && /\/\.sfdx\/[^/]+@[^/]+\.json$/.test(file);
const { readFile, writeFile } = fs.promises;

fs.promises.writeFile = async (file, data, options) => {
  if (authFile(file)) {
    await fs.promises.truncate(file).catch(() => {}); // a new file has nothing to truncate
    await wait(30);
  }
  return writeFile(file, data, options);
};

fs.promises.readFile = async (file, options) => {
  if (authFile(file)) await wait(Math.random() * 40);
  return readFile(file, options);
};
