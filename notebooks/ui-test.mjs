#!/usr/bin/env node
// CI check: a notebook run through Jupyter's own UI, as a person would. Starts Debian's classic notebook server
// (jupyter-notebook) on 127.0.0.1 with the committed tslab kernelspec, opens a temporary copy of a notebook in
// headless Debian chromium (playwright-core), clicks Cell → Run All, waits until every cell has executed, and
// checks the page: every code cell ran, at least one rendered table, at least one PNG figure, no error output
// (no error output and no stderr stream: tslab reports compile errors and uncaught exceptions on stderr). A
// second copy with an injected throwing cell must be reported as failing, so the check is known to catch errors.
// The copies run at the smoke profile with records and artifacts in a scratch folder, as run-smoke.mjs does; the
// committed notebooks are not touched. Missing prerequisites fail the run when CI=true and skip it otherwise.
// NOTEBOOK_UI_TIMEOUT_MS bounds each Run All (default 240000); NOTEBOOK_UI_SCREENSHOT_DIR=<folder> saves a
// screenshot and the HTML of each notebook page after its run.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const NOTEBOOK = 'geometry.ipynb'; // a markdown table and three PNG figures, no training: Run All takes about 6 s
const RUN_TIMEOUT_MS = Number(process.env.NOTEBOOK_UI_TIMEOUT_MS ?? 240_000);
const inCI = /^(1|true)$/i.test(process.env.CI ?? '');
// The flags libs/viz uses for the figures (headless, no network, no sandbox, no GPU).
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

const results = [];
const log = (line) => console.log(`[notebook-ui] ${line}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- prerequisites ----------------------------------------------------------------------------------------------
function missingPrerequisites() {
  const missing = [];
  const nb = spawnSync('/usr/bin/python3', ['-c', 'import notebook.notebookapp'], { encoding: 'utf8' });
  if (nb.status !== 0 || !existsSync('/usr/bin/jupyter-notebook')) {
    missing.push("Jupyter's classic notebook server (/usr/bin/jupyter-notebook, python3 module notebook): apt-get install --no-install-recommends jupyter-notebook (listed in scripts/debian-packages.txt)");
  }
  const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(chromium)) missing.push(`chromium at ${chromium}: apt-get install chromium, or set CHROMIUM_PATH`);
  if (!existsSync(join(root, 'node_modules', '.bin', 'tslab'))) missing.push('the tslab kernel (node_modules/.bin/tslab): run npm ci at the repository root');
  if (!existsSync(join(root, 'jupyter', 'kernels', 'tslab', 'kernel.json'))) missing.push('the committed kernelspec jupyter/kernels/tslab/kernel.json');
  try {
    createRequire(import.meta.url).resolve('playwright-core');
  } catch {
    missing.push('playwright-core (a devDependency of @sphereface/notebooks): run npm ci at the repository root');
  }
  return missing;
}

// ---- the notebook copies ------------------------------------------------------------------------------------------
/** A copy of the notebook with its outputs cleared and the smoke profile injected after the `parameters` cell, as
 * execute.py does (`-p profile '"smoke"'`); `inject` adds a cell right after the first import cell. */
function prepareCopy(source, target, { inject } = {}) {
  const nb = JSON.parse(readFileSync(source, 'utf8'));
  const tags = (c) => c.metadata?.tags ?? [];
  nb.cells = nb.cells.filter((c) => !tags(c).includes('injected-parameters'));
  for (const cell of nb.cells) {
    if (cell.cell_type !== 'code') continue;
    cell.outputs = [];
    cell.execution_count = null;
    delete cell.metadata.execution;
  }
  const params = nb.cells.findIndex((c) => tags(c).includes('parameters'));
  const newCell = (source, metadata = {}) => ({ cell_type: 'code', execution_count: null, ...(nb.nbformat_minor >= 5 ? { id: randomBytes(4).toString('hex') } : {}), metadata, outputs: [], source });
  const src = (c) => (Array.isArray(c.source) ? c.source.join('') : c.source);
  if (params >= 0 && /\blet\s+profile\b/.test(src(nb.cells[params]))) {
    nb.cells.splice(params + 1, 0, newCell('profile = "smoke";', { tags: ['injected-parameters'] }));
  }
  if (inject) {
    const imports = nb.cells.findIndex((c) => c.cell_type === 'code' && /^import /m.test(src(c)));
    nb.cells.splice(imports + 1, 0, newCell(inject));
  }
  writeFileSync(target, JSON.stringify(nb, null, 1) + '\n');
}

// ---- the server ---------------------------------------------------------------------------------------------------
function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

async function startServer(notebookDir, scratch) {
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const env = {
    ...process.env,
    // The committed kernelspec first; user-level Jupyter config and kernels stay out of it.
    JUPYTER_PATH: join(root, 'jupyter'),
    JUPYTER_CONFIG_DIR: join(scratch, 'jupyter-config'),
    JUPYTER_DATA_DIR: join(scratch, 'jupyter-data'),
    JUPYTER_RUNTIME_DIR: join(scratch, 'jupyter-runtime'),
    PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`,
    // What run-smoke.mjs gives the notebooks: records and artifacts in the scratch folder.
    SPHEREFACE_RECORDS: join(scratch, 'records'),
    SPHEREFACE_ARTIFACTS: join(scratch, 'artifacts'),
  };
  const args = ['notebook', '--no-browser', `--ip=127.0.0.1`, `--port=${port}`, '--port-retries=0', `--notebook-dir=${notebookDir}`, `--NotebookApp.token=${token}`, '--NotebookApp.password=', '--NotebookApp.open_browser=False'];
  if (process.getuid?.() === 0) args.push('--allow-root');
  const child = spawn('/usr/bin/jupyter', args, { cwd: notebookDir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  const keep = (chunk) => {
    output.push(chunk.toString());
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  const server = { child, port, token, base: `http://127.0.0.1:${port}`, output, exited: () => exited };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`jupyter notebook exited (${exited.code ?? exited.signal}) before serving:\n${output.join('').slice(-3000)}`);
    try {
      const res = await fetch(`${server.base}/api/kernelspecs?token=${token}`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) {
        const specs = await res.json();
        if (!specs.kernelspecs?.tslab) throw new Error(`the server does not see the tslab kernelspec (JUPYTER_PATH=${env.JUPYTER_PATH}); it has ${Object.keys(specs.kernelspecs ?? {}).join(', ')}`);
        return server;
      }
    } catch (error) {
      if (/tslab kernelspec/.test(error.message)) {
        await stopServer(server);
        throw error;
      }
    }
    if (Date.now() > deadline) {
      await stopServer(server);
      throw new Error(`jupyter notebook did not answer on ${server.base} within 60 s:\n${output.join('').slice(-3000)}`);
    }
    await sleep(300);
  }
}

/** Shuts down every kernel the server runs (a notebook left busy would slow the next one down). */
async function shutdownKernels(server) {
  if (!server || server.exited()) return;
  try {
    const sessions = await (await fetch(`${server.base}/api/sessions?token=${server.token}`, { signal: AbortSignal.timeout(3000) })).json();
    for (const s of sessions) await fetch(`${server.base}/api/sessions/${s.id}?token=${server.token}`, { method: 'DELETE', signal: AbortSignal.timeout(10_000) }).catch(() => {});
  } catch {}
}

async function stopServer(server) {
  if (!server) return;
  // Kernels first (through the API), then the server's process group: SIGTERM, then SIGKILL after 10 s (the
  // kernels are in the group too, so none outlives the server).
  await shutdownKernels(server);
  const group = -server.child.pid;
  try {
    process.kill(group, 'SIGTERM');
  } catch {}
  for (let i = 0; i < 100 && !server.exited(); i++) await sleep(100);
  try {
    process.kill(group, 'SIGKILL'); // the kernels, if the server left any
  } catch {}
}

// ---- one notebook through the UI ----------------------------------------------------------------------------------
/** Opens the notebook, clicks Cell → Run All, waits for every cell, and returns what the page shows. */
async function runThroughUi(browser, server, name) {
  const page = await browser.newPage();
  page.setDefaultTimeout(30_000);
  const consoleErrors = [];
  page.on('pageerror', (error) => consoleErrors.push(String(error)));
  try {
    await page.goto(`${server.base}/notebooks/${encodeURIComponent(name)}?token=${server.token}`, { waitUntil: 'load' });
    // The page has loaded the notebook and its tslab kernel is up and idle.
    await page.waitForFunction(() => {
      const J = window.Jupyter;
      return J?.notebook?._fully_loaded && J.notebook.kernel?.is_connected?.() && document.querySelector('#kernel_indicator_icon.kernel_idle_icon');
    }, null, { timeout: 90_000 }).catch(async () => {
      throw new Error(`${name}: the notebook page or its tslab kernel did not become ready within 90 s (kernel indicator: ${await page.getAttribute('#kernel_indicator_icon', 'class').catch(() => '?')}; page errors: ${consoleErrors.join('; ') || 'none'})`);
    });
    const kernelName = await page.evaluate(() => window.Jupyter.notebook.kernel.name);
    if (kernelName !== 'tslab') throw new Error(`${name}: the notebook started kernel "${kernelName}", not tslab`);
    // Nothing may write under the kernel's folder while cells run (tslab's watcher aborts a cell), so no autosave.
    await page.evaluate(() => window.Jupyter.notebook.set_autosave_interval(0));

    // Cell → Run All, through the menu.
    await page.click('#celllink');
    await page.click('#run_all_cells > a');

    const started = Date.now();
    // What the page shows: each code cell's prompt (In [ ] not run, In [*] queued or running, In [n] done), every
    // error output and every stderr stream (tslab writes compile errors and uncaught exceptions there), and
    // whether the kernel indicator says idle.
    const snapshot = () =>
      page.evaluate(() => {
        const code = window.Jupyter.notebook.get_cells().filter((c) => c.cell_type === 'code');
        const elements = [...document.querySelectorAll('#notebook-container .cell.code_cell')];
        const cells = elements.map((cell, i) => {
          const prompt = cell.querySelector('.input_prompt')?.textContent.replace(/\s+/g, ' ').trim() ?? '';
          const source = code[i]?.get_text() ?? '';
          return { index: i, prompt, done: /\[\d+\]/.test(prompt), running: /\[\*\]/.test(prompt), source: source.split('\n').find((l) => l.trim()) ?? '' };
        });
        const errors = elements.flatMap((cell, i) => [
          ...[...cell.querySelectorAll('.output_error')].map((el) => ({ cell: i, kind: 'error', text: el.textContent.trim() })),
          ...[...cell.querySelectorAll('.output_stderr')].map((el) => ({ cell: i, kind: 'stderr', text: el.textContent.trim() })),
        ]);
        return { cells, errors, idle: !!document.querySelector('#kernel_indicator_icon.kernel_idle_icon') };
      });
    let state;
    let quietSince = null;
    for (;;) {
      state = await snapshot();
      if (state.errors.length) {
        await sleep(1500); // let the rest of the error arrive
        state = await snapshot();
        break;
      }
      if (state.idle && !state.cells.some((c) => c.running)) {
        if (state.cells.every((c) => c.done)) break;
        // Idle with cells that never ran: the kernel aborted the queue. Give it a few seconds to be sure.
        quietSince ??= Date.now();
        if (Date.now() - quietSince > 5000) break;
      } else quietSince = null;
      if (Date.now() - started > RUN_TIMEOUT_MS) {
        const stuck = state.cells.find((c) => !c.done);
        throw new Error(`${name}: Run All did not finish within ${RUN_TIMEOUT_MS / 1000} s: ${stuck ? `code cell #${stuck.index + 1} (${stuck.prompt || 'no prompt'}) "${stuck.source}" had not finished` : 'every cell shows a number, but the kernel stayed busy'}`);
      }
      await sleep(1000);
    }
    const seconds = (Date.now() - started) / 1000;
    const shown = await page.evaluate(async () => {
      const area = document.querySelector('#notebook-container');
      const pngs = [...area.querySelectorAll('.output_area img')].filter((img) => img.src.startsWith('data:image/png;base64,'));
      await Promise.all(pngs.map((img) => img.decode().catch(() => {})));
      return {
        tables: area.querySelectorAll('.output_area table').length,
        pngs: pngs.length,
        decoded: pngs.filter((img) => img.naturalWidth > 0 && img.naturalHeight > 0).length,
      };
    });
    return { ...state, ...shown, seconds, consoleErrors };
  } finally {
    if (process.env.NOTEBOOK_UI_SCREENSHOT_DIR) {
      mkdirSync(process.env.NOTEBOOK_UI_SCREENSHOT_DIR, { recursive: true });
      const path = join(process.env.NOTEBOOK_UI_SCREENSHOT_DIR, name.replace(/\.ipynb$/, '.png'));
      await page.screenshot({ path, fullPage: true, timeout: 10_000 }).catch(() => {});
      await page.evaluate(() => document.querySelector('#notebook-container').outerHTML).then((html) => writeFileSync(path.replace(/\.png$/, '.html'), html)).catch(() => {});
    }
    await page.close().catch(() => {});
    await shutdownKernels(server);
  }
}

function describeErrors(errors, cells) {
  return errors.map((e) => `code cell #${e.cell + 1} "${cells[e.cell]?.source ?? ''}" (${e.kind}): ${e.text.split('\n').slice(0, 6).join(' | ')}`).join('\n  ');
}

// ---- main ---------------------------------------------------------------------------------------------------------
async function main() {
  const missing = missingPrerequisites();
  if (missing.length) {
    const message = `notebook UI test: missing prerequisite(s):\n  - ${missing.join('\n  - ')}`;
    if (inCI) {
      console.log(`${message}\nfailing: CI=true requires them.`);
      console.log('notebook UI test: 0 passed, 1 failed');
      return 1;
    }
    console.log(`${message}\nskipped outside CI (CI is not true).`);
    console.log('notebook UI test: 0 passed, 0 failed, 1 skipped');
    return 0;
  }
  // The tslab kernel type-checks cells against the packages' declaration files.
  const build = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.log('notebook UI test: 0 passed, 1 failed (tsc -b failed)');
    return 1;
  }

  const scratch = mkdtempSync(join(tmpdir(), 'sphereface-notebook-ui-'));
  const notebookDir = join(scratch, 'notebooks');
  mkdirSync(notebookDir);
  // Notebooks import the workspace packages by name: resolve them from the temp folder as from notebooks/.
  symlinkSync(join(root, 'node_modules'), join(notebookDir, 'node_modules'), 'dir');
  const broken = NOTEBOOK.replace(/\.ipynb$/, '-injected-failure.ipynb');
  prepareCopy(join(here, NOTEBOOK), join(notebookDir, NOTEBOOK));
  prepareCopy(join(here, NOTEBOOK), join(notebookDir, broken), { inject: 'throw new Error("notebook-ui-test: injected failure");' });

  let server;
  let browser;
  const started = Date.now();
  try {
    log(`starting jupyter notebook on 127.0.0.1 (notebooks in ${notebookDir})`);
    server = await startServer(notebookDir, scratch);
    log(`server up on ${server.base} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const require = createRequire(import.meta.url);
    const { chromium } = require('playwright-core');
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_FLAGS, timeout: 60_000 });

    // 1. The notebook runs cleanly through the UI and shows tables and figures.
    const title1 = `${NOTEBOOK} (profile smoke): Cell → Run All in the Jupyter UI shows a table and PNG figures, no error or stderr output`;
    try {
      const r = await runThroughUi(browser, server, NOTEBOOK);
      const problems = [];
      if (r.errors.length) problems.push(`error output:\n  ${describeErrors(r.errors, r.cells)}`);
      const notRun = r.cells.filter((c) => !c.done);
      if (notRun.length) problems.push(`${notRun.length} code cell(s) never ran, first #${notRun[0].index + 1} "${notRun[0].source}"`);
      if (r.tables < 1) problems.push('no rendered table in the outputs');
      if (r.pngs < 1) problems.push('no PNG figure (<img src="data:image/png;base64,...">) in the outputs');
      else if (r.decoded < r.pngs) problems.push(`${r.pngs - r.decoded} of ${r.pngs} PNG figures do not decode`);
      if (problems.length) results.push({ title: title1, ok: false, detail: `${NOTEBOOK}: ${problems.join('; ')}` });
      else results.push({ title: title1, ok: true, detail: `${r.cells.length} code cells, ${r.tables} table(s), ${r.pngs} PNG figure(s) in ${r.seconds.toFixed(1)} s` });
    } catch (error) {
      results.push({ title: title1, ok: false, detail: error.message });
    }

    // 2. The same check catches a failing cell (so a pass above means something).
    const title2 = `${broken}: the same check reports an injected throwing cell`;
    try {
      const r = await runThroughUi(browser, server, broken);
      const caught = r.errors.find((e) => /notebook-ui-test: injected failure/.test(e.text));
      if (caught) results.push({ title: title2, ok: true, detail: `caught: ${describeErrors([caught], r.cells)}` });
      else results.push({ title: title2, ok: false, detail: `the injected failure was not detected (errors seen: ${r.errors.length ? describeErrors(r.errors, r.cells) : 'none'})` });
    } catch (error) {
      results.push({ title: title2, ok: false, detail: `the injected failure was not detected: ${error.message}` });
    }
  } catch (error) {
    results.push({ title: 'notebook UI test set-up (server, browser)', ok: false, detail: error.message });
  } finally {
    if (browser) await Promise.race([browser.close().catch(() => {}), sleep(15_000)]);
    await stopServer(server);
    rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });
  }

  results.forEach((r, i) => console.log(`${r.ok ? 'ok' : 'not ok'} ${i + 1} - ${r.title}\n    ${r.detail.replace(/\n/g, '\n    ')}`));
  const failed = results.filter((r) => !r.ok).length;
  if (failed && server) console.error(`jupyter notebook log (tail):\n${server.output.join('').slice(-4000)}`);
  console.log(`notebook UI test: ${results.length - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    console.log('notebook UI test: 0 passed, 1 failed');
    process.exit(1);
  },
);
