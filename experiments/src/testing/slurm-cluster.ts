// A one-node Slurm cluster on localhost for the sweep tests: munged, slurmctld and slurmd from Debian's munge and
// slurm-wlm, started in the foreground as child processes of the test (so they are stopped by their own PIDs), with
// everything (key, socket, state, spool, logs, slurm.conf) in a temporary folder. Every daemon listens on 127.0.0.1
// only, which start() checks in /proc/net/tcp{,6} before it returns. No cgroups: proctrack/linuxproc, task/none.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const BINARIES = {
  munged: ['/usr/sbin/munged'],
  slurmctld: ['/usr/sbin/slurmctld'],
  slurmd: ['/usr/sbin/slurmd'],
  sbatch: ['/usr/bin/sbatch'],
  squeue: ['/usr/bin/squeue'],
  scancel: ['/usr/bin/scancel'],
  sinfo: ['/usr/bin/sinfo'],
} as const;

/** Why the cluster could not be started, with what the daemons logged. */
export class SlurmUnavailableError extends Error {}

export interface SlurmCluster {
  dir: string;
  /** The slurm.conf; the client commands find it through SLURM_CONF. */
  conf: string;
  node: string;
  /** Environment for the client commands and for `sphereface sweep` (SLURM_CONF set). */
  env: NodeJS.ProcessEnv;
  /** The daemons' logs, for messages. */
  logs(): string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The addresses something listens on at `port` (from /proc/net/tcp and tcp6), as hex `addr:port` entries. */
export function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 4 || fields[3] !== '0A') continue; // 0A: LISTEN
      const [addr, portHex] = fields[1].split(':');
      if (parseInt(portHex, 16) === port) found.push(addr);
    }
  }
  return found;
}

const LOOPBACK = new Set(['0100007F', '00000000000000000000000001000000']);

/** Starts the cluster; throws a SlurmUnavailableError that says why (missing package, daemon log) when it cannot. */
export async function startSlurmCluster(): Promise<SlurmCluster> {
  const missing = Object.entries(BINARIES).filter(([, paths]) => !paths.some((p) => existsSync(p)));
  if (missing.length > 0) {
    throw new SlurmUnavailableError(
      `Slurm is not installed here: ${missing.map(([name]) => name).join(', ')} not found (Debian packages slurm-wlm and munge, listed in ` +
        'scripts/debian-packages.txt; `npm run setup-and-test` installs them)',
    );
  }
  if (process.getuid?.() !== 0) throw new SlurmUnavailableError(`slurmd must run as root to start jobs, and this test runs as uid ${process.getuid?.()}`);

  const dir = mkdtempSync(join(tmpdir(), 'sphereface-slurm-'));
  // munged requires every folder above its socket to be searchable by all, and its key folder private.
  chmodSync(dir, 0o755);
  const keyDir = join(dir, 'munge');
  const socketDir = join(dir, 'munge-socket');
  mkdirSync(keyDir, { mode: 0o700 });
  mkdirSync(socketDir, { mode: 0o755 });
  for (const sub of ['state', 'spool', 'log']) mkdirSync(join(dir, sub));
  const key = join(keyDir, 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o600 });
  const socket = join(socketDir, 'munge.socket');

  const node = hostname().split('.')[0];
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  const pluginDir = ['/usr/lib/x86_64-linux-gnu/slurm-wlm', '/usr/lib/aarch64-linux-gnu/slurm-wlm', '/usr/lib/slurm-wlm'].find((d) => existsSync(d));
  const cpus = Math.max(1, Number(spawnSync('nproc', { encoding: 'utf8' }).stdout.trim()) || 1);
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      `# One-node cluster on localhost for the sweep tests (experiments/src/testing/slurm-cluster.ts).`,
      `ClusterName=spheretest`,
      // The controller's address is given, so nothing depends on what this host's name resolves to.
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      // Bind to the configured addresses (127.0.0.1), not to every address of the machine.
      `CommunicationParameters=NoCtldInAddrAny,NoInAddrAny`,
      `SlurmUser=root`,
      `SlurmdUser=root`,
      `AuthType=auth/munge`,
      `CredType=cred/munge`,
      `AuthInfo=socket=${socket}`,
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      `SlurmctldDebug=info`,
      `SlurmdDebug=info`,
      // No cgroups (containers often lack them): processes tracked through /proc, no task binding.
      `ProctrackType=proctrack/linuxproc`,
      `TaskPlugin=task/none`,
      `JobAcctGatherType=jobacct_gather/none`,
      `AccountingStorageType=accounting_storage/none`,
      `JobCompType=jobcomp/none`,
      `MpiDefault=none`,
      `SwitchType=switch/none`,
      `SelectType=select/cons_tres`,
      `SelectTypeParameters=CR_CPU`,
      `SchedulerType=sched/builtin`,
      `ReturnToService=2`,
      `KillWait=5`,
      `MailProg=/bin/true`,
      `PlugStackConfig=/dev/null`,
      ...(pluginDir ? [`PluginDir=${pluginDir}`] : []),
      `NodeName=${node} NodeAddr=127.0.0.1 NodeHostname=${node} CPUs=${cpus} State=UNKNOWN`,
      `PartitionName=debug Nodes=${node} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, SLURM_CONF: conf };
  const daemons: Array<{ name: string; child: ChildProcess; output: string }> = [];
  const logs = () => {
    const parts = daemons.map((d) => `--- ${d.name} (stdout/stderr) ---\n${readFileSync(d.output, 'utf8').trim()}`);
    for (const name of ['munged.log', 'slurmctld.log', 'slurmd.log']) {
      const path = join(dir, 'log', name);
      if (existsSync(path)) parts.push(`--- ${path} ---\n${readFileSync(path, 'utf8').trim().split('\n').slice(-40).join('\n')}`);
    }
    return parts.join('\n');
  };
  const start = (name: string, command: string, args: string[]) => {
    const output = join(dir, 'log', `${name}.out`);
    const fd = openSync(output, 'a');
    const child = spawn(command, args, { env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('error', () => undefined);
    // Should the test process end without stop() (a crash), the daemons go with it.
    const orphaned = () => child.kill('SIGKILL');
    process.once('exit', orphaned);
    child.once('exit', () => process.removeListener('exit', orphaned));
    daemons.push({ name, child, output });
    return child;
  };

  const stop = async () => {
    // Jobs first (their tasks are ours too), then the daemons in reverse order, each by its own PID.
    if (daemons.some((d) => d.name === 'slurmctld' && d.child.exitCode === null)) {
      spawnSync('scancel', ['--user', 'root'], { env, timeout: 20_000 });
      for (let i = 0; i < 60; i++) {
        const q = spawnSync('squeue', ['-h', '-o', '%i'], { env, encoding: 'utf8', timeout: 20_000 });
        if (q.status !== 0 || q.stdout.trim() === '') break;
        await sleep(500);
      }
    }
    for (const { child } of [...daemons].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      if ((await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)])) === false) {
        child.kill('SIGKILL');
        await exited;
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  const fail = async (why: string): Promise<never> => {
    const message = `${why}\n${logs()}`;
    await stop();
    throw new SlurmUnavailableError(message);
  };

  try {
    start('munged', BINARIES.munged[0], ['--foreground', `--socket=${socket}`, `--key-file=${key}`, `--log-file=${join(dir, 'log', 'munged.log')}`, `--pid-file=${join(dir, 'munged.pid')}`, `--seed-file=${join(dir, 'munged.seed')}`]);
    for (let i = 0; !existsSync(socket); i++) {
      if (i >= 40 || daemons[0].child.exitCode !== null) return await fail(`munged did not create its socket ${socket} within 10 s`);
      await sleep(250);
    }
    start('slurmctld', BINARIES.slurmctld[0], ['-D', '-i', '-f', conf]);
    start('slurmd', BINARIES.slurmd[0], ['-D', '-f', conf, '-N', node]);
    // The node is usable once slurmd has registered and the controller reports it idle.
    let state = '';
    for (let i = 0; ; i++) {
      const dead = daemons.find((d) => d.child.exitCode !== null || d.child.signalCode !== null);
      if (dead) return await fail(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while the cluster was starting`);
      const info = spawnSync('sinfo', ['-h', '-n', node, '-o', '%T'], { env, encoding: 'utf8', timeout: 20_000 });
      state = info.status === 0 ? info.stdout.trim() : `sinfo failed: ${(info.stderr || info.error?.message || '').trim()}`;
      if (state === 'idle') break;
      if (i >= 120) return await fail(`the node ${node} was not idle within 60 s (last: ${state})`);
      await sleep(500);
    }
    for (const port of [ctldPort, slurmdPort]) {
      const found = listeners(port);
      const open = found.filter((a) => !LOOPBACK.has(a));
      if (found.length === 0 || open.length > 0) return await fail(`port ${port} must be listened on at 127.0.0.1 only; listeners: ${found.join(', ') || 'none'}`);
    }
  } catch (error) {
    if (error instanceof SlurmUnavailableError) throw error;
    return await fail(`starting the cluster failed: ${(error as Error).message}`);
  }
  return { dir, conf, node, env, logs, stop };
}
