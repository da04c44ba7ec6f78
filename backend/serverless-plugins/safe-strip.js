'use strict';

// serverless-python-requirements strips shared objects with whatever `strip` is
// on PATH. Building an arm64 layer on an x86_64 machine (or the reverse), that
// `strip` cannot read the target's ELF files, and the layer ships unstripped
// (about 3 MB more, zipped). When a cross `strip` for the target CPU is
// installed (Debian: binutils-aarch64-linux-gnu / binutils-x86-64-linux-gnu),
// this plugin puts a `strip` that runs it first on PATH for the plugin's
// child processes.

const fs = require('fs');
const os = require('os');
const path = require('path');

const CROSS_STRIP = {
  arm64: 'aarch64-linux-gnu-strip',
  x86_64: 'x86_64-linux-gnu-strip',
};
const HOST_ARCH = { arm64: 'arm64', x64: 'x86_64' };

function findOnPath(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return null;
}

class CrossStripPlugin {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.log = log || console;
    this.hooks = {
      'before:package:cleanup': () => this.install(),
      'before:deploy:function:initialize': () => this.install(),
    };
  }

  install() {
    const target = this.serverless.service.provider.architecture || 'x86_64';
    if (HOST_ARCH[process.arch] === target || process.platform !== 'linux') return;
    const crossStrip = findOnPath(CROSS_STRIP[target]);
    if (!crossStrip) {
      const pkg = target === 'arm64' ? 'binutils-aarch64-linux-gnu' : 'binutils-x86-64-linux-gnu';
      if (this.log.warning) {
        this.log.warning(`No ${CROSS_STRIP[target]}: the ${target} layer ships unstripped (install ${pkg}).`);
      }
      return;
    }
    const shimDir = fs.mkdtempSync(path.join(os.tmpdir(), 'synthos-strip-'));
    const shim = path.join(shimDir, 'strip');
    fs.writeFileSync(shim, `#!/bin/sh\nexec "${crossStrip}" "$@"\n`, { mode: 0o755 });
    process.env.PATH = `${shimDir}${path.delimiter}${process.env.PATH}`;
  }
}

module.exports = CrossStripPlugin;
