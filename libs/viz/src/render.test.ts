import { describe, expect, it } from 'vitest';
import { psiFigure } from './geometry';
import { renderPngs } from './render';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe('FigureRenderer (Debian chromium, headless)', () => {
  it('renders a figure to a PNG of the requested size, byte-identically twice', async () => {
    const [a, b] = await renderPngs([psiFigure(), psiFigure()], { width: 400, height: 300, scale: 1 });
    expect([...a.subarray(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(a.readUInt32BE(16)).toBe(400);
    expect(a.readUInt32BE(20)).toBe(300);
    expect(a.length).toBeGreaterThan(5_000);
    expect(a.equals(b)).toBe(true);
  });
});
