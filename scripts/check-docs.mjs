// Checks the documentation after `npm run docs` has generated docs/reference/:
//  - every relative link in README.md and docs/ (the reference included) names a file of the
//    repository, and every #anchor names a heading (or an HTML id) of the file it points into;
//  - no file of the repository sends its reader outside it: only .ci/run may name the workspace
//    folder beside the clone, as it uses that folder's files to run CI.
// Exits non-zero, listing each problem, if any is found.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const problems = [];

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
function slug(heading) {
  return heading
    .replace(/`/g, '')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The text of a markdown file without its fenced code blocks and inline code spans. */
function prose(text) {
  return text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

const anchorsOf = new Map();
function anchors(file) {
  let found = anchorsOf.get(file);
  if (found !== undefined) return found;
  found = new Set();
  const text = readFileSync(file, 'utf8');
  const seen = new Map();
  for (const [, heading] of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(heading);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const [, id] of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) found.add(id);
  anchorsOf.set(file, found);
  return found;
}

function markdownFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return markdownFiles(path);
    return entry.name.endsWith('.md') ? [path] : [];
  });
}

const docs = [join(root, 'README.md'), ...markdownFiles(join(root, 'docs'))];
if (!existsSync(join(root, 'docs', 'reference', 'index.md'))) {
  problems.push('docs/reference/index.md is missing: run `npm run docs`, which generates the reference first');
}

for (const file of docs) {
  const where = relative(root, file);
  for (const [, target] of prose(readFileSync(file, 'utf8')).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: ...
    const [path, anchor] = target.split('#', 2);
    const resolved = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
    if (resolved !== root && !resolved.startsWith(root + sep)) {
      problems.push(`${where}: link ${target} leaves the repository`);
    } else if (!existsSync(resolved)) {
      problems.push(`${where}: link ${target}: no such file`);
    } else if (anchor !== undefined && anchor !== '') {
      if (statSync(resolved).isDirectory() || !resolved.endsWith('.md')) {
        problems.push(`${where}: link ${target}: an anchor into a file that is not markdown`);
      } else if (!anchors(resolved).has(anchor)) {
        problems.push(`${where}: link ${target}: no heading makes that anchor in ${relative(root, resolved)}`);
      }
    }
  }
}

// The workspace's own documents are inputs to this repository, never where it sends a reader.
// This file names them only to find them.
const outside = /\.\.\/shared(?![-\w])|\/work\/|\b(?:API|SEMANTICS|DESIGN|PLATFORMS|POOL)\.md\b/;
const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' }).split('\0');
for (const path of tracked) {
  if (
    path === '' ||
    path === '.ci/run' ||
    path === 'scripts/check-docs.mjs' ||
    path === 'package-lock.json' ||
    !existsSync(join(root, path))
  )
    continue;
  const lines = readFileSync(join(root, path), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (outside.test(line)) problems.push(`${path}:${i + 1}: refers to a file outside the repository: ${line.trim()}`);
  });
}

if (problems.length > 0) {
  console.error(`check-docs: ${problems.length} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(
  `check-docs: ${docs.length} markdown files, links and anchors resolve; nothing points outside the repository`,
);
