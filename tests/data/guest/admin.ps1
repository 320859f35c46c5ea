Write-Output 'quotes '' "x" $(Get-Date) `t'
$x = @'
'@
