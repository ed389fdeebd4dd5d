/** Rewrites the catalog table in docs/errors.md from src/errors.ts (npm run docs:errors). */
import { readFileSync, writeFileSync } from 'node:fs';
import { END, START, catalogTable } from './errors-doc.js';

const path = new URL('../docs/errors.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
writeFileSync(path, `${doc.slice(0, doc.indexOf(START))}${catalogTable()}${doc.slice(doc.indexOf(END) + END.length)}`);
