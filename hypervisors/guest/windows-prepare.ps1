<#
.SYNOPSIS
vmshift guest preparation for Windows, run in the source VM before the move.

.DESCRIPTION
Records every physical network adapter (MAC, name, addresses with prefix
and origin, gateways, persistent routes, DNS servers and suffixes, MTU,
PCI location) as JSON in C:\ProgramData\vmshift\network.json, copies
windows-reapply.ps1 (from beside this script) to
C:\ProgramData\vmshift\reapply.ps1, and registers the scheduled task
'vmshift-reapply' that runs it once, as SYSTEM, at the next startup.
Nothing else in the guest changes.  Windows PowerShell 5.1 or later.

.PARAMETER Print
Print the record and change nothing.

.PARAMETER Undo
Remove what a previous run installed (task, scripts, record).
#>
[CmdletBinding()]
param(
    [switch]$Print,
    [switch]$Undo
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

# >>> vmshift settings (vmshift guest-scripts rewrites this block)
# <<< vmshift settings

$VsDir = Join-Path -Path $env:ProgramData -ChildPath 'vmshift'
$VsTask = 'vmshift-reapply'

function Get-VsRegValue {
    param([string]$Path, [string]$Name)
    $item = Get-ItemProperty -Path $Path -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $item) {
        return ''
    }
    return [string]$item.$Name
}

# Static DNS servers are the NameServer registry value of the interface;
# servers learnt from DHCP live in DhcpNameServer instead.
function Get-VsStaticDns {
    param([string]$Guid, [string]$Stack)
    $key = 'HKLM:\SYSTEM\CurrentControlSet\Services\' + $Stack +
        '\Parameters\Interfaces\' + $Guid
    $value = Get-VsRegValue -Path $key -Name 'NameServer'
    return @($value -split '[ ,]' | Where-Object { $_ -ne '' })
}

function Get-VsPciLocation {
    param([string]$Name)
    $hw = Get-NetAdapterHardwareInfo -Name $Name -ErrorAction SilentlyContinue
    if ($null -eq $hw) {
        return ''
    }
    return '{0:x4}:{1:x2}:{2:x2}.{3:x1}' -f [int]$hw.Segment, [int]$hw.Bus,
        [int]$hw.Device, [int]$hw.Function
}

function Get-VsAddresses {
    param([int]$Index)
    $list = @()
    $all = @(Get-NetIPAddress -InterfaceIndex $Index -ErrorAction SilentlyContinue)
    foreach ($ip in $all) {
        $family = 'inet'
        if ([string]$ip.AddressFamily -eq 'IPv6') {
            $family = 'inet6'
        }
        $list += [ordered]@{
            family = $family
            address = [string]$ip.IPAddress
            prefix = [int]$ip.PrefixLength
            origin = [string]$ip.PrefixOrigin
            suffix_origin = [string]$ip.SuffixOrigin
            skip_as_source = [bool]$ip.SkipAsSource
        }
    }
    return ,$list
}

function Get-VsRoutes {
    param([int]$Index)
    $list = @()
    $stores = @('PersistentStore', 'ActiveStore')
    $seen = @{}
    foreach ($store in $stores) {
        $all = @(Get-NetRoute -InterfaceIndex $Index -PolicyStore $store -ErrorAction SilentlyContinue)
        foreach ($r in $all) {
            $hop = [string]$r.NextHop
            $dst = [string]$r.DestinationPrefix
            if ($hop -eq '0.0.0.0' -or $hop -eq '::') {
                continue
            }
            $key = $dst + ' ' + $hop
            if ($seen.ContainsKey($key)) {
                continue
            }
            $seen[$key] = $true
            $family = 'inet'
            if ([string]$r.AddressFamily -eq 'IPv6') {
                $family = 'inet6'
            }
            $list += [ordered]@{
                family = $family
                dst = $dst
                gateway = $hop
                metric = [int]$r.RouteMetric
                persistent = ($store -eq 'PersistentStore')
                origin = [string]$r.Protocol
            }
        }
    }
    return ,$list
}

function Get-VsAdapter {
    param($Adapter)
    $index = [int]$Adapter.ifIndex
    $if4 = Get-NetIPInterface -InterfaceIndex $index -AddressFamily IPv4 -ErrorAction SilentlyContinue
    $if6 = Get-NetIPInterface -InterfaceIndex $index -AddressFamily IPv6 -ErrorAction SilentlyContinue
    $client = Get-DnsClient -InterfaceIndex $index -ErrorAction SilentlyContinue
    $dns4 = @(Get-DnsClientServerAddress -InterfaceIndex $index -AddressFamily IPv4 -ErrorAction SilentlyContinue |
        ForEach-Object { $_.ServerAddresses })
    $dns6 = @(Get-DnsClientServerAddress -InterfaceIndex $index -AddressFamily IPv6 -ErrorAction SilentlyContinue |
        ForEach-Object { $_.ServerAddresses })
    $guid = [string]$Adapter.InterfaceGuid
    $dhcp4 = $false
    $mtu = 0
    if ($null -ne $if4) {
        $dhcp4 = ([string]$if4.Dhcp -eq 'Enabled')
        $mtu = [int]$if4.NlMtu
    }
    $dhcp6 = $false
    if ($null -ne $if6) {
        $dhcp6 = ([string]$if6.Dhcp -eq 'Enabled')
    }
    $suffix = ''
    $register = $true
    if ($null -ne $client) {
        $suffix = [string]$client.ConnectionSpecificSuffix
        $register = [bool]$client.RegisterThisConnectionsAddress
    }
    return [ordered]@{
        name = [string]$Adapter.Name
        description = [string]$Adapter.InterfaceDescription
        mac = ([string]$Adapter.MacAddress).Replace('-', ':').ToLower()
        physical = $true
        bus = Get-VsPciLocation -Name $Adapter.Name
        ifindex = $index
        guid = $guid
        status = [string]$Adapter.Status
        mtu = $mtu
        dhcp4 = $dhcp4
        dhcp6 = $dhcp6
        addresses = Get-VsAddresses -Index $index
        routes = Get-VsRoutes -Index $index
        dns = [ordered]@{
            servers = @($dns4 + $dns6)
            static4 = @(Get-VsStaticDns -Guid $guid -Stack 'Tcpip')
            static6 = @(Get-VsStaticDns -Guid $guid -Stack 'Tcpip6')
            suffix = $suffix
            register = $register
        }
    }
}

function Get-VsRecord {
    $adapters = @(Get-NetAdapter -Physical -ErrorAction SilentlyContinue |
        Sort-Object -Property ifIndex)
    $nics = @()
    foreach ($a in $adapters) {
        $nics += Get-VsAdapter -Adapter $a
    }
    $global = Get-DnsClientGlobalSetting -ErrorAction SilentlyContinue
    $search = @()
    if ($null -ne $global) {
        $search = @($global.SuffixSearchList)
    }
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction SilentlyContinue
    $osName = ''
    $osVersion = ''
    if ($null -ne $os) {
        $osName = [string]$os.Caption
        $osVersion = [string]$os.Version
    }
    $tcpip = 'HKLM:\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters'
    return [ordered]@{
        vmshift_record = 1
        created = (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
        hostname = [string]$env:COMPUTERNAME
        os = [ordered]@{ id = 'windows'; name = $osName; version_id = $osVersion }
        dns = [ordered]@{
            search = $search
            primary_suffix = Get-VsRegValue -Path $tcpip -Name 'NV Domain'
        }
        nics = $nics
    }
}

function Write-VsUtf8 {
    param([string]$Path, [string]$Text)
    $enc = New-Object -TypeName System.Text.UTF8Encoding -ArgumentList $false
    [System.IO.File]::WriteAllText($Path, $Text, $enc)
}

function Install-VsTask {
    param([string]$Script)
    $arg = '-NoProfile -NonInteractive -ExecutionPolicy Bypass -File "' + $Script + '"'
    $action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument $arg
    $trigger = New-ScheduledTaskTrigger -AtStartup
    $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
    $limit = New-TimeSpan -Hours 1
    $settings = New-ScheduledTaskSettingsSet -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -ExecutionTimeLimit $limit
    Register-ScheduledTask -TaskName $VsTask -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null
}

function Invoke-VsUndo {
    Unregister-ScheduledTask -TaskName $VsTask -Confirm:$false -ErrorAction SilentlyContinue
    foreach ($f in @('reapply.ps1', 'network.json', 'reapply.done')) {
        Remove-Item -LiteralPath (Join-Path -Path $VsDir -ChildPath $f) -Force -ErrorAction SilentlyContinue
    }
    Write-Output 'vmshift-prepare: removed the re-apply task and its files'
}

$principalNow = New-Object -TypeName Security.Principal.WindowsPrincipal -ArgumentList ([Security.Principal.WindowsIdentity]::GetCurrent())
$isAdmin = $principalNow.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)

if ($Print) {
    Get-VsRecord | ConvertTo-Json -Depth 8
    exit 0
}
if (-not $isAdmin) {
    Write-Error 'vmshift-prepare: run this script as an administrator'
    exit 1
}
if ($Undo) {
    Invoke-VsUndo
    exit 0
}

$source = Join-Path -Path $PSScriptRoot -ChildPath 'windows-reapply.ps1'
if (-not (Test-Path -LiteralPath $source)) {
    Write-Error ('vmshift-prepare: ' + $source + ' not found (it must be beside this script)')
    exit 1
}
New-Item -ItemType Directory -Path $VsDir -Force | Out-Null
$record = Get-VsRecord
$json = $record | ConvertTo-Json -Depth 8
Write-VsUtf8 -Path (Join-Path -Path $VsDir -ChildPath 'network.json') -Text $json
$target = Join-Path -Path $VsDir -ChildPath 'reapply.ps1'
Copy-Item -LiteralPath $source -Destination $target -Force
Remove-Item -LiteralPath (Join-Path -Path $VsDir -ChildPath 'reapply.done') -Force -ErrorAction SilentlyContinue
Install-VsTask -Script $target
Write-Output ('vmshift-prepare: recorded ' + @($record.nics).Count + ' adapter(s) in ' + $VsDir + '\network.json')
Write-Output ('vmshift-prepare: installed ' + $target + ', run once at startup by the task ' + $VsTask)
