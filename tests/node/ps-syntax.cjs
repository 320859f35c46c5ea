// PowerShell syntax check with the tree-sitter PowerShell grammar.
//
//   node ps-syntax.cjs NODE_DIR FILE...
//
// NODE_DIR is where 'npm install' ran with tests/node/package.json
// (tools/install-deps uses build/node).
//
// Exit 0 when every file parses without ERROR or MISSING nodes, 1 when
// one does not (each problem printed as FILE:LINE:COL), 77 with a line
// "SKIP: reason" when the grammar cannot be loaded.
'use strict';
const fs = require('fs');
const { createRequire } = require('module');
const path = require('path');

function skip(reason) {
  console.log('SKIP: ' + reason);
  process.exit(77);
}

function problems(node, out) {
  if (node.type === 'ERROR' || node.isMissing) {
    out.push({ row: node.startPosition.row + 1,
               col: node.startPosition.column + 1,
               what: node.isMissing ? 'missing ' + node.type : 'syntax error' });
    if (node.type === 'ERROR') return;
  }
  for (let i = 0; i < node.childCount; i++) problems(node.child(i), out);
}

async function main() {
  const [dir, ...files] = process.argv.slice(2);
  if (!dir || files.length === 0) {
    console.error('usage: node ps-syntax.cjs NODE_DIR FILE...');
    process.exit(2);
  }
  let ts, wasm;
  try {
    const req = createRequire(path.join(path.resolve(dir), 'package.json'));
    ts = req('web-tree-sitter');
    wasm = req.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm');
  } catch (e) {
    skip('tree-sitter PowerShell grammar not installed (' +
         e.message.split('\n')[0] + ')');
  }
  const { Parser, Language } = ts;
  let parser;
  try {
    await Parser.init();
    const lang = await Language.load(wasm);
    parser = new Parser();
    parser.setLanguage(lang);
  } catch (e) {
    skip('cannot load the tree-sitter PowerShell grammar: ' +
         e.message.split('\n')[0]);
  }
  let bad = 0;
  for (const f of files) {
    const tree = parser.parse(fs.readFileSync(f, 'utf8'));
    const out = [];
    problems(tree.rootNode, out);
    if (tree.rootNode.hasError && out.length === 0) {
      out.push({ row: 1, col: 1, what: 'syntax error' });
    }
    for (const p of out) console.log(`${f}:${p.row}:${p.col}: ${p.what}`);
    if (out.length) bad++;
    else console.log(`${f}: ok`);
  }
  process.exit(bad ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
