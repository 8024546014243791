// A QR code drawn with Unicode half blocks: two rows of modules per text line, so a claim link fits on a
// laptop terminal. The encoding is qrcode-generator's (a small, dependency-free, long-kept library); only
// the drawing is ours.
import qrcode from 'qrcode-generator';

/** Module matrix, true = dark. Error correction M: survives a smudged screen photo, stays small. */
export function qrMatrix(text: string): boolean[][] {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const n = qr.getModuleCount();
  return Array.from({ length: n }, (_, r) => Array.from({ length: n }, (_, c) => qr.isDark(r, c)));
}

// Index: (top is light) * 2 + (bottom is light). Light modules are drawn, dark ones left blank: on the
// usual light-on-dark terminal that gives dark modules on a light field, which is what scanners expect.
const GLYPHS = [' ', '▄', '▀', '█'] as const;

/**
 * Draws the matrix with a quiet zone of `margin` modules. With colour, the block is painted white on black
 * explicitly so it scans on light-themed terminals too; without colour (NO_COLOR, pipes) it relies on the
 * terminal's foreground being the lighter colour.
 */
export function renderQr(matrix: boolean[][], options: { margin?: number; color?: boolean } = {}): string {
  const margin = options.margin ?? 2;
  const n = matrix.length;
  const size = n + 2 * margin;
  const light = (r: number, c: number): boolean => {
    const rr = r - margin;
    const cc = c - margin;
    if (rr < 0 || cc < 0 || rr >= n || cc >= n) return true;
    return matrix[rr]?.[cc] !== true;
  };
  const lines: string[] = [];
  for (let r = 0; r < size; r += 2) {
    let line = '';
    for (let c = 0; c < size; c++) {
      const top = light(r, c) ? 2 : 0;
      const bottom = r + 1 < size ? (light(r + 1, c) ? 1 : 0) : 0;
      line += GLYPHS[top + bottom];
    }
    lines.push(options.color === true ? `\u001b[97;40m${line}\u001b[0m` : line);
  }
  return lines.join('\n');
}

/** The inverse of renderQr without colour (for tests and for tools that read a QR back from a log). */
export function readRenderedQr(text: string, margin = 2): boolean[][] {
  const rows: boolean[][] = [];
  for (const line of text.split('\n')) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const ch of line) {
      const i = GLYPHS.indexOf(ch as (typeof GLYPHS)[number]);
      if (i < 0) throw new Error(`not a QR glyph: ${JSON.stringify(ch)}`);
      top.push((i & 2) === 0);
      bottom.push((i & 1) === 0);
    }
    rows.push(top, bottom);
  }
  const size = rows[0]?.length ?? 0;
  const n = size - 2 * margin;
  return rows.slice(margin, margin + n).map((row) => row.slice(margin, margin + n));
}
