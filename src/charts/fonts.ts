import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GlobalFonts } from '@napi-rs/canvas';

/** The bundled font's family (the `dejavu-fonts-ttf` package): no system font is assumed. */
export const FONT_FAMILY = 'DejaVu Sans';

let registered = false;

/** Registers DejaVu Sans (regular and bold) with the canvas once per process. */
export function registerBundledFont(): void {
  if (registered) return;
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('dejavu-fonts-ttf/package.json')), 'ttf');
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSans.ttf'), FONT_FAMILY);
  GlobalFonts.registerFromPath(join(dir, 'DejaVuSans-Bold.ttf'), FONT_FAMILY);
  registered = true;
}
