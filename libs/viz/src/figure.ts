/** A plotly figure as plain JSON: what notebooks display and the renderer turns into PNG. */
export interface Figure {
  data: Array<Record<string, unknown>>;
  layout: Record<string, unknown>;
}

/** Shared layout defaults so every figure in the docs looks alike. */
export function baseLayout(title: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: { text: title, font: { size: 16 } },
    font: { family: 'DejaVu Sans, Arial, sans-serif', size: 13 },
    paper_bgcolor: 'white',
    plot_bgcolor: 'white',
    margin: { l: 70, r: 30, t: 60, b: 60 },
    legend: { bgcolor: 'rgba(255,255,255,0.8)' },
    ...extra,
  };
}

export const AXIS = { gridcolor: '#e5e5e5', zerolinecolor: '#999', linecolor: '#444', showline: true, mirror: true };
export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
