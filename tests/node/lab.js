'use strict';
// The network lab of tests/lab/lab.sh, for the Node tests: a sender s and
// receivers r1..r3 on a bridge, each in its own network namespace.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const LAB_SH = path.join(ROOT, 'tests', 'lab', 'lab.sh');

function labCmd(...args) {
  return spawnSync('bash', ['-c', `source "${LAB_SH}"; "$@"`, 'lab', ...args], {
    encoding: 'utf8',
    env: { ...process.env, LAB_QUIET: '1' },
  });
}

class Lab {
  constructor(name) {
    this.name = name;
  }
  static up(hosts) {
    const name = `nd${process.pid % 100000}`;
    const r = labCmd('lab_up', name, String(hosts));
    if (r.status !== 0) {
      labCmd('lab_down', name);
      throw new Error(`cannot build the network lab (namespaces; needs root): ${r.stderr}`);
    }
    return new Lab(name);
  }
  down() {
    labCmd('lab_down', this.name);
  }
  loss(host, pct, port) {
    const r = labCmd('lab_loss', this.name, host, String(pct), String(port));
    if (r.status !== 0) throw new Error(`lab_loss: ${r.stderr}`);
  }
  dropped(host) {
    return Number(labCmd('lab_loss_dropped', this.name, host).stdout.trim() || 0);
  }
  /** Runs a command in HOST's namespace; resolves to { code, stdout, stderr }. */
  run(host, args, timeoutMs = 180000) {
    return new Promise((resolve) => {
      const p = spawn('ip', ['netns', 'exec', `${this.name}-${host}`, ...args], { env: process.env });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      const t = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, stdout, stderr });
      });
    });
  }
  async waitJoined(host, group, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const r = spawnSync('ip', ['netns', 'exec', `${this.name}-${host}`, 'ip', '-6', 'maddr', 'show', 'dev', 'eth0'], { encoding: 'utf8' });
      if (r.stdout.split('\n').some((l) => l.trim() === `inet6 ${group}`)) return;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`receiver on ${host} did not join ${group} within ${timeoutMs} ms`);
  }
}

module.exports = { Lab, ROOT };
