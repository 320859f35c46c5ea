# Hyper-V definition of VMware VM 'Router', written by vmshift TEST from 'source.vmx'.
# Run it on the Hyper-V host as an administrator. -DiskPath is the folder (or SMB
# share) holding the converted VHDX files.
#Requires -RunAsAdministrator
#Requires -Modules Hyper-V
[CmdletBinding()]
param(
    [string]$DiskPath = '\\svm1\vms\qtree1',
    [string]$VMPath = '',
    [switch]$Start,
    [System.Management.Automation.PSCredential]$GuestCredential
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

function Join-VmshiftPath([string]$Dir, [string]$Name) {
    if ($Dir -eq '') { return $Name }
    return $Dir.TrimEnd([char[]]'\/') + '\' + $Name
}

$vmName = 'Router'
$disks = @(
    (Join-VmshiftPath $DiskPath 'Debian-System1-0-cl1.vhdx')
)
foreach ($d in $disks) {
    if (-not (Test-Path -LiteralPath $d -PathType Leaf)) { throw ('converted disk not found: ' + $d) }
}
if (@(Get-VM | Where-Object { $_.Name -eq $vmName }).Count -gt 0) {
    throw ('a VM with this name already exists: ' + $vmName)
}

$newVm = @{ Name = $vmName; Generation = 1; MemoryStartupBytes = 33554432; NoVHD = $true }
if ($VMPath -ne '') { $newVm.Path = $VMPath }
$vm = New-VM @newVm
Set-VMProcessor -VM $vm -Count 1
Set-VMMemory -VM $vm -DynamicMemoryEnabled $false -StartupBytes 32MB
Set-VM -VM $vm -AutomaticCheckpointsEnabled $false -Notes 'Converted by vmshift from VMware VM ''Router'' (guest OS other26xlinux)'

# New-VM adds an unconnected adapter: replace it.
Get-VMNetworkAdapter -VM $vm | Remove-VMNetworkAdapter
$nic = Add-VMNetworkAdapter -VM $vm -Name 'ethernet0' -SwitchName 'vSwitch-Lab' -Passthru
Set-VMNetworkAdapter -VMNetworkAdapter $nic -StaticMacAddress '000C29C4BE5A'
$nic = Add-VMNetworkAdapter -VM $vm -Name 'ethernet1' -SwitchName 'vSwitch-Lab' -Passthru
Set-VMNetworkAdapter -VMNetworkAdapter $nic -StaticMacAddress '000C29C4BE64'

while (@(Get-VMScsiController -VM $vm).Count -lt 1) { Add-VMScsiController -VM $vm }
Add-VMHardDiskDrive -VM $vm -ControllerType IDE -ControllerNumber 0 -ControllerLocation 0 -Path $disks[0]
Set-VMBios -VM $vm -StartupOrder @('IDE', 'CD', 'LegacyNetworkAdapter', 'Floppy')

if ($Start) {
    Start-VM -VM $vm
}
$vm
