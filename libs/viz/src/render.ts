import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import type { Figure } from './figure';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface RenderOptions {
  width?: number;
  height?: number;
  /** Device pixel ratio of the PNG. */
  scale?: number;
}

/** The system chromium: $CHROMIUM_PATH, else Debian's /usr/bin/chromium. Nothing downloads a browser. */
export function chromiumPath(): string {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(path)) {
    throw new Error(`chromium not found at ${path}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return path;
}

/**
 * Renders plotly figures to PNG in one headless chromium session (start-up costs ~6 s, each figure ~0.25 s,
 * so batch them). PNG output is byte-stable across runs; SVG is not (plotly's random clip-path ids).
 */
export class FigureRenderer {
  private constructor(
    private readonly browser: Browser,
    private readonly page: Page,
  ) {}

  static async open(): Promise<FigureRenderer> {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_FLAGS });
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><body style="margin:0"><div id="figure"></div></body></html>');
    const require = createRequire(import.meta.url);
    await page.addScriptTag({ path: require.resolve('plotly.js-dist-min') });
    return new FigureRenderer(browser, page);
  }

  async png(figure: Figure, options: RenderOptions = {}): Promise<Buffer> {
    const { width = 900, height = 560, scale = 2 } = options;
    const dataUrl = await this.page.evaluate(
      async ({ figure, width, height, scale }) => {
        // Runs in the page: DOM types are not part of this Node project's libs.
        const page = globalThis as unknown as { Plotly: any; document: { getElementById(id: string): unknown } };
        const plotly = page.Plotly;
        const element = page.document.getElementById('figure');
        await plotly.newPlot(element, figure.data, { ...figure.layout, width, height }, { staticPlot: true });
        return plotly.toImage(element, { format: 'png', width, height, scale });
      },
      { figure, width, height, scale },
    );
    return Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64');
  }

  async close(): Promise<void> {
    await this.browser.close();
  }
}

/** Renders a batch of figures with one browser session. */
export async function renderPngs(figures: Figure[], options?: RenderOptions): Promise<Buffer[]> {
  const renderer = await FigureRenderer.open();
  try {
    const out: Buffer[] = [];
    for (const f of figures) out.push(await renderer.png(f, options));
    return out;
  } finally {
    await renderer.close();
  }
}
