import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** Location of ../shared (specs, signal examples); tests that need it skip when it is absent. */
export const sharedDir = resolve(process.env.SHARED_DIR ?? '../shared');
export const hasShared = existsSync(sharedDir);
export const sharedPath = (...parts: string[]): string => resolve(sharedDir, ...parts);
