# Hyper-V definition of VMware VM 'win2019', written by vmshift TEST from 'source.vmx'.
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

$vmName = 'win2019'
$disks = @(
    (Join-VmshiftPath $DiskPath 'win2019.vhdx'),
    (Join-VmshiftPath $DiskPath 'win2019_1.vhdx')
)
foreach ($d in $disks) {
    if (-not (Test-Path -LiteralPath $d -PathType Leaf)) { throw ('converted disk not found: ' + $d) }
}
if (@(Get-VM | Where-Object { $_.Name -eq $vmName }).Count -gt 0) {
    throw ('a VM with this name already exists: ' + $vmName)
}

$newVm = @{ Name = $vmName; Generation = 2; MemoryStartupBytes = 4294967296; NoVHD = $true }
if ($VMPath -ne '') { $newVm.Path = $VMPath }
$vm = New-VM @newVm
Set-VMProcessor -VM $vm -Count 2
Set-VMMemory -VM $vm -DynamicMemoryEnabled $false -StartupBytes 4096MB
Set-VM -VM $vm -AutomaticCheckpointsEnabled $false -Notes 'Converted by vmshift from VMware VM ''win2019'' (guest OS windows2019srv-64)'
Set-VMFirmware -VM $vm -EnableSecureBoot On -SecureBootTemplate 'MicrosoftWindows'

# New-VM adds an unconnected adapter: replace it.
Get-VMNetworkAdapter -VM $vm | Remove-VMNetworkAdapter
$nic = Add-VMNetworkAdapter -VM $vm -Name 'ethernet0' -SwitchName 'vSwitch-Prod' -Passthru
Set-VMNetworkAdapter -VMNetworkAdapter $nic -StaticMacAddress '000C29469B0B'
Set-VMNetworkAdapterVlan -VMNetworkAdapter $nic -Access -VlanId 10

while (@(Get-VMScsiController -VM $vm).Count -lt 1) { Add-VMScsiController -VM $vm }
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 0 -Path $disks[0]
Add-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 1 -Path $disks[1]
Add-VMDvdDrive -VM $vm -ControllerNumber 0 -ControllerLocation 2
Set-VMFirmware -VM $vm -FirstBootDevice (Get-VMHardDiskDrive -VM $vm -ControllerType SCSI -ControllerNumber 0 -ControllerLocation 0)

if ($Start) {
    Start-VM -VM $vm
    if ($GuestCredential) {
        # Windows' SAN policy leaves the data disks offline: bring them
        # online over PowerShell Direct once the guest answers.
        Wait-VM -VM $vm -For Heartbeat -Timeout 600
        Invoke-Command -VMId $vm.Id -Credential $GuestCredential -ScriptBlock {
            Get-Disk | Where-Object { $_.IsOffline } | Set-Disk -IsOffline $false
            Get-Disk | Where-Object { $_.IsReadOnly } | Set-Disk -IsReadOnly $false
        }
    }
}
$vm
