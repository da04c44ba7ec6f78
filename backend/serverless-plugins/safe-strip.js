'use strict';

// serverless-python-requirements (slim + strip) runs `strip FILE` on every `*.so`
// in the layer. Two things go wrong with a plain `strip`:
//  - libraries that auditwheel vendored into `<pkg>.libs/` were rewritten by
//    patchelf, and stripping them corrupts them (numpy then fails to import with
//    "ELF load command address/offset not page-aligned");
//  - building for the other CPU (an arm64 layer on x86_64), the host `strip`
//    cannot read the target's ELF files, and the layer ships unstripped.
// This plugin puts a `strip` on PATH for the plugin's child processes that
// leaves vendored libraries alone and uses the cross `strip` for the target CPU
// when one is installed (Debian: binutils-aarch64-linux-gnu / binutils-x86-64-linux-gnu).

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

class SafeStripPlugin {
  constructor(serverless, options, { log } = {}) {
    this.serverless = serverless;
    this.log = log || console;
    this.installed = false;
    this.hooks = {
      'before:package:cleanup': () => this.install(),
      'before:deploy:function:initialize': () => this.install(),
    };
  }

  install() {
    if (this.installed || process.platform !== 'linux') return;
    const target = this.serverless.service.provider.architecture || 'x86_64';
    let strip = findOnPath('strip');
    if (HOST_ARCH[process.arch] !== target) {
      strip = findOnPath(CROSS_STRIP[target]);
      if (!strip) {
        const pkg = target === 'arm64' ? 'binutils-aarch64-linux-gnu' : 'binutils-x86-64-linux-gnu';
        if (this.log.warning) {
          this.log.warning(`No ${CROSS_STRIP[target]}: the ${target} layer ships unstripped (install ${pkg}).`);
        }
      }
    }
    const shimDir = fs.mkdtempSync(path.join(os.tmpdir(), 'synthos-strip-'));
    const run = strip ? `exec "${strip}" --strip-unneeded "$f"` : 'exit 0';
    const shim = [
      '#!/bin/sh',
      'f="$1"',
      'case "$f" in',
      '  */*.libs/*) exit 0 ;;',
      'esac',
      run,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(shimDir, 'strip'), shim, { mode: 0o755 });
    process.env.PATH = `${shimDir}${path.delimiter}${process.env.PATH}`;
    this.installed = true;
  }
}

module.exports = SafeStripPlugin;
