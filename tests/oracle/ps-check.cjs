// Parse PowerShell scripts with tree-sitter-powershell and check them:
// no syntax error, only the cmdlets vmshift writes, no double-quoted
// (expandable) string and no $(...) subexpression anywhere, so nothing
// from a VM or network name can run.  Usage: node ps-check.cjs FILE...
'use strict';
const fs = require('fs');
const { Parser, Language } = require('web-tree-sitter');

const allowed = new Set([
  'New-VM', 'Set-VMProcessor', 'Set-VMMemory', 'Set-VM', 'Set-VMFirmware',
  'Set-VMKeyProtector', 'Enable-VMTPM', 'Get-VMNetworkAdapter',
  'Remove-VMNetworkAdapter', 'Add-VMNetworkAdapter', 'Set-VMNetworkAdapter',
  'Set-VMNetworkAdapterVlan', 'Get-VMScsiController', 'Add-VMScsiController',
  'Add-VMHardDiskDrive', 'Add-VMDvdDrive', 'Get-VMHardDiskDrive',
  'Set-VMBios', 'Start-VM', 'Wait-VM', 'Invoke-Command', 'Get-Disk',
  'Set-Disk', 'Where-Object', 'Test-Path', 'Get-VM', 'Set-StrictMode',
  'Join-VmshiftPath',
]);
const forbidden = new Set(['expandable_string_literal', 'sub_expression',
                           'expandable_here_string_literal']);

(async () => {
  await Parser.init();
  const lang = await Language.load(
    require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
  const parser = new Parser();
  parser.setLanguage(lang);
  let bad = 0;
  for (const file of process.argv.slice(2)) {
    const tree = parser.parse(fs.readFileSync(file, 'utf8'));
    const problems = [];
    const walk = (n) => {
      if (n.type === 'ERROR' || n.isMissing) {
        problems.push(`syntax error at line ${n.startPosition.row + 1}`);
      }
      if (forbidden.has(n.type)) {
        problems.push(`${n.type} at line ${n.startPosition.row + 1}: ${n.text.slice(0, 60)}`);
      }
      if (n.type === 'command_name' && !allowed.has(n.text)) {
        problems.push(`unexpected command '${n.text.slice(0, 60)}' at line ${n.startPosition.row + 1}`);
      }
      for (let i = 0; i < n.childCount; i++) walk(n.child(i));
    };
    walk(tree.rootNode);
    if (tree.rootNode.hasError && problems.length === 0) problems.push('syntax error');
    for (const p of problems) console.log(`${file}: ${p}`);
    if (problems.length) bad++;
  }
  process.exit(bad ? 1 : 0);
})().catch((e) => { console.log(`ps-check: ${e.message}`); process.exit(2); });
