# Hyper-V definition of VMware VM 'BZ1308535_21disks', written by vmshift TEST from 'source.vmx'.
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

$vmName = 'BZ1308535_21disks'
$disks = @(
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_1.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_2.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_3.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_4.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_5.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_6.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_7.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_8.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_9.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_10.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_11.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_12.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_13.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_14.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_15.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_16.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_17.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_18.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_19.vhdx'),
    (Join-VmshiftPath $DiskPath 'BZ1308535_21disks_20.vhdx')
)
foreach ($d in $disks) {
    if (-not (Test-Path -LiteralPath $d -PathType Leaf)) { throw ('converted disk not found: ' + $d) }
}
if (@(Get-VM | Where-Object { $_.Name -eq $vmName }).Count -gt 0) {
    throw ('a VM with this name already exists: ' + $vmName)
}

$newVm = @{ Name = $vmName; Generation = 1; MemoryStartupBytes = 2147483648; NoVHD = $true }
if ($VMPath -ne '') { $newVm.Path = $VMPath }
$vm = New-VM @newVm
Set-VMProcessor -VM $vm -Count 1
Set-VMMemory -VM $vm -DynamicMemoryEnabled $false -StartupBytes 2048MB
Set-VM -VM $vm -AutomaticCheckpointsEnabled $false -Notes 'Converted by vmshift from VMware VM ''BZ1308535_21disks'' (guest OS rhel6-64)'

# New-VM adds an unconnected adapter: replace it.
Get-VMNetworkAdapter -VM $vm | Remove-VMNetworkAdapter
$nic = Add-VMNetworkAdapter -VM $vm -Name 'ethernet0' -SwitchName 'vSwitch-Prod' -Passthru
Set-VMNetworkAdapter -VMNetworkAdapter $nic -StaticMacAddress '000C2936EF31'
Set-VMNetworkAdapterVlan -VMNetworkAdapter $nic -Access -VlanId 10

while (@(Get-VMScsiController -VM $vm).Count -lt 1) { Add-VMScsiController -VM $vm }
Add-VMHardDiskDrive -VM $vm -ControllerType IDE -ControllerNumber 0 -ControllerLocation 0 -Path $disks[0]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 0 -Path $disks[1]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 1 -Path $disks[2]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 2 -Path $disks[3]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 3 -Path $disks[4]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 4 -Path $disks[5]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 5 -Path $disks[6]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 6 -Path $disks[7]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 7 -Path $disks[8]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 8 -Path $disks[9]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 9 -Path $disks[10]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 10 -Path $disks[11]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 11 -Path $disks[12]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 12 -Path $disks[13]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 13 -Path $disks[14]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 14 -Path $disks[15]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 15 -Path $disks[16]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 16 -Path $disks[17]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 17 -Path $disks[18]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 18 -Path $disks[19]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 19 -Path $disks[20]
Set-VMBios -VM $vm -StartupOrder @('IDE', 'CD', 'LegacyNetworkAdapter', 'Floppy')

if ($Start) {
    Start-VM -VM $vm
}
$vm
