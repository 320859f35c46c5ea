<#
.SYNOPSIS
vmshift re-apply for Windows: runs once, at the first startup at the target.

.DESCRIPTION
Run by the scheduled task 'vmshift-reapply' that windows-prepare.ps1
registered.  It brings offline data disks online (SAN policy), removes
the ghost adapters the old virtual hardware left behind (they keep the
old addresses), matches the recorded adapters to the new ones by MAC or,
when the MACs changed, by PCI order, puts the recorded static addresses,
gateways, routes, DNS servers and suffixes on them (or switches them to
DHCP), gives them their old names, uninstalls VMware Tools, removes its
task and logs everything to C:\ProgramData\vmshift\reapply.log.
Windows PowerShell 5.1 or later.

The record read is the guest's own (C:\ProgramData\vmshift\network.json,
written by windows-prepare.ps1); only when the guest has none, the
network.json beside this script: the record a run with a vCenter source
puts into the bundle, built from what VMware Tools reported.

.PARAMETER DryRun
Log what would change and change nothing.

.PARAMETER Force
Run again although it already ran.
#>
[CmdletBinding()]
param(
    [switch]$DryRun,
    [switch]$Force
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Continue'

# >>> vmshift settings (vmshift guest-scripts rewrites this block)
$VsMode = 'dhcp'
$VsRetainMac = 'yes'
$VsRemoveTools = $true
$VsReboot = 'always'
$VsOverrides = @(
    @{
        Mac = '00-50-56-AA-BB-CC'
        Name = 'ens192'
        Dhcp = $null
        Addresses = @('192.0.2.10/24', '2001:db8::10/64')
        Gateway4 = '192.0.2.1'
        Gateway6 = '2001:db8::1'
        Dns = @('192.0.2.53', '2001:db8::53')
        Search = @('example.com', 'corp.example.com')
        Mtu = 9000
        Routes = @(@{ To = '10.9.0.0/16'; Via = '192.0.2.254'; Metric = 50 }, @{ To = '2001:db8:9::/48'; Via = '2001:db8::9'; Metric = -1 }, @{ To = '198.51.100.0/24'; Via = ''; Metric = -1 })
    }
    @{
        Mac = '00-50-56-AA-BB-DD'
        Name = ''
        Dhcp = $true
        Addresses = @()
        Gateway4 = ''
        Gateway6 = ''
        Dns = @()
        Search = @()
        Mtu = 0
        Routes = @()
    }
    @{
        Mac = ''
        Name = 'ens256'
        Dhcp = $false
        Addresses = @('203.0.113.5/28')
        Gateway4 = ''
        Gateway6 = ''
        Dns = @()
        Search = @()
        Mtu = 0
        Routes = @()
    }
)
$VsAdminScript = ''
# <<< vmshift settings

$VsDir = Join-Path -Path $env:ProgramData -ChildPath 'vmshift'
$VsLog = Join-Path -Path $VsDir -ChildPath 'reapply.log'
$VsRecord = Join-Path -Path $VsDir -ChildPath 'network.json'
$VsTask = 'vmshift-reapply'
$script:NeedReboot = $false
# The record came from the vCenter inventory, not from this guest.
$script:FromTools = $false

function Write-VsLog {
    param([string]$Message)
    $line = (Get-Date -Format 'yyyy-MM-dd HH:mm:ss') + ' ' + $Message
    Add-Content -LiteralPath $VsLog -Value $line -ErrorAction SilentlyContinue
    Write-Output $line
}

# Run a change, or only log it in a dry run.  Errors are logged, not fatal.
function Invoke-VsChange {
    param([string]$What, [scriptblock]$Action)
    if ($DryRun) {
        Write-VsLog ('would ' + $What)
        return $true
    }
    try {
        & $Action
        Write-VsLog $What
        return $true
    } catch {
        Write-VsLog ('failed to ' + $What + ': ' + $_.Exception.Message)
        return $false
    }
}

function ConvertTo-VsMac {
    param([string]$Mac)
    return $Mac.Replace(':', '-').ToUpper()
}

# ---------------------------------------------------------------- disks

# Data disks of a moved VM come up offline under the default SAN policy
# (OfflineShared); make new disks come online and online the present ones.
function Set-VsDisksOnline {
    Invoke-VsChange -What 'set the SAN policy to OnlineAll' -Action {
        Set-StorageSetting -NewDiskPolicy OnlineAll
    } | Out-Null
    $disks = @(Get-Disk -ErrorAction SilentlyContinue | Where-Object { $_.IsOffline -or $_.IsReadOnly })
    foreach ($d in $disks) {
        $n = [int]$d.Number
        if ($d.IsOffline) {
            Invoke-VsChange -What ('bring disk ' + $n + ' online') -Action {
                Set-Disk -Number $n -IsOffline $false
            } | Out-Null
        }
        if ($d.IsReadOnly) {
            Invoke-VsChange -What ('make disk ' + $n + ' writable') -Action {
                Set-Disk -Number $n -IsReadOnly $false
            } | Out-Null
        }
    }
}

# ---------------------------------------------------------- ghost adapters

# Network adapters of hardware that is gone (not present, PCI) still hold
# their static addresses; Windows then refuses them on the new adapter.
function Remove-VsGhostAdapters {
    $ghosts = @(Get-PnpDevice -Class Net -ErrorAction SilentlyContinue |
        Where-Object { -not $_.Present -and ([string]$_.InstanceId).StartsWith('PCI\') })
    if ($ghosts.Count -eq 0) {
        Write-VsLog 'no ghost network adapters'
        return
    }
    foreach ($g in $ghosts) {
        $id = [string]$g.InstanceId
        $what = 'remove the ghost adapter ' + [string]$g.FriendlyName + ' (' + $id + ')'
        Invoke-VsChange -What $what -Action {
            $out = & pnputil.exe /remove-device $id 2>&1
            if ($LASTEXITCODE -ne 0) {
                throw ('pnputil exited with ' + $LASTEXITCODE + ': ' + ($out -join ' '))
            }
        } | Out-Null
    }
}

# ------------------------------------------------------------- matching

function Get-VsPciKey {
    param($Adapter)
    $hw = Get-NetAdapterHardwareInfo -Name $Adapter.Name -ErrorAction SilentlyContinue
    if ($null -eq $hw) {
        return '~' + ('{0:d8}' -f [int]$Adapter.ifIndex)
    }
    return '{0:x4}:{1:x2}:{2:x2}.{3:x1}' -f [int]$hw.Segment, [int]$hw.Bus,
        [int]$hw.Device, [int]$hw.Function
}

function Get-VsOrderKey {
    param($Nic)
    $bus = ''
    if ($Nic.PSObject.Properties['bus']) {
        $bus = [string]$Nic.bus
    }
    if ($bus -eq '') {
        return '~' + ('{0:d8}' -f [int]$Nic.ifindex)
    }
    return $bus
}

# Pair recorded adapters with present ones: by MAC when the MAC is unique
# on both sides (and MACs were kept), then the rest in PCI order.
function Get-VsMatches {
    param($Recorded, $Current)
    $pairs = @()
    $usedRec = @{}
    $usedCur = @{}
    if ($VsRetainMac -ne 'no') {
        foreach ($r in $Recorded) {
            $mac = ConvertTo-VsMac -Mac ([string]$r.mac)
            $hits = @($Current | Where-Object { $_.MacAddress -eq $mac })
            $dups = @($Recorded | Where-Object { (ConvertTo-VsMac -Mac ([string]$_.mac)) -eq $mac })
            if ($hits.Count -eq 1 -and $dups.Count -eq 1) {
                $pairs += [pscustomobject]@{ Rec = $r; Cur = $hits[0]; How = 'mac' }
                $usedRec[[string]$r.name] = $true
                $usedCur[[string]$hits[0].Name] = $true
            }
        }
    }
    $restRec = @($Recorded | Where-Object { -not $usedRec.ContainsKey([string]$_.name) } |
        Sort-Object -Property @{ Expression = { Get-VsOrderKey -Nic $_ } })
    $restCur = @($Current | Where-Object { -not $usedCur.ContainsKey([string]$_.Name) } |
        Sort-Object -Property @{ Expression = { Get-VsPciKey -Adapter $_ } })
    for ($i = 0; $i -lt $restRec.Count; $i++) {
        if ($i -ge $restCur.Count) {
            Write-VsLog ('recorded adapter ' + $restRec[$i].name + ' has no adapter here')
            continue
        }
        $pairs += [pscustomobject]@{ Rec = $restRec[$i]; Cur = $restCur[$i]; How = 'order' }
    }
    return ,$pairs
}

# ------------------------------------------------------------- settings

function Get-VsOverride {
    param($Rec)
    $mac = ConvertTo-VsMac -Mac ([string]$Rec.mac)
    foreach ($o in $VsOverrides) {
        if (($o.Mac -ne '' -and $o.Mac -eq $mac) -or ($o.Name -ne '' -and $o.Name -eq [string]$Rec.name)) {
            return $o
        }
    }
    return $null
}

# The settings to apply to one adapter: the record's static ones, with
# the override's lists replacing them where the override has any.
function Get-VsSettings {
    param($Rec)
    $s = @{ Dhcp = [bool]$Rec.dhcp4; Addresses = @(); Gateway4 = ''; Gateway6 = '';
            Dns = @(); Search = ''; Mtu = 0; Routes = @() }
    foreach ($a in @($Rec.addresses)) {
        if ([string]$a.origin -eq 'Manual') {
            $s.Addresses += ([string]$a.address + '/' + [string]$a.prefix)
        }
    }
    foreach ($r in @($Rec.routes)) {
        if ([string]$r.dst -eq '0.0.0.0/0') {
            $s.Gateway4 = [string]$r.gateway
        } elseif ([string]$r.dst -eq '::/0') {
            if (-not ([string]$r.gateway).StartsWith('fe80')) {
                $s.Gateway6 = [string]$r.gateway
            }
        } elseif ($r.persistent) {
            $s.Routes += @{ To = [string]$r.dst; Via = [string]$r.gateway; Metric = [int]$r.metric }
        }
    }
    $s.Dns = @($Rec.dns.static4) + @($Rec.dns.static6)
    $s.Search = [string]$Rec.dns.suffix
    if ([int]$Rec.mtu -gt 0 -and [int]$Rec.mtu -ne 1500) {
        $s.Mtu = [int]$Rec.mtu
    }
    $o = Get-VsOverride -Rec $Rec
    if ($null -ne $o) {
        Write-VsLog ('using the network map override for ' + $Rec.name)
        if ($null -ne $o.Dhcp) {
            $s.Dhcp = [bool]$o.Dhcp
        }
        if ($o.Addresses.Count -gt 0) {
            $s.Addresses = @($o.Addresses)
            $s.Dhcp = $false
        }
        if ($o.Gateway4 -ne '') { $s.Gateway4 = $o.Gateway4 }
        if ($o.Gateway6 -ne '') { $s.Gateway6 = $o.Gateway6 }
        if ($o.Dns.Count -gt 0) { $s.Dns = @($o.Dns) }
        if ($o.Search.Count -gt 0) { $s.Search = [string]$o.Search[0] }
        if ($o.Mtu -gt 0) { $s.Mtu = [int]$o.Mtu }
        if ($o.Routes.Count -gt 0) { $s.Routes = @($o.Routes) }
        if ($s.Dhcp) {
            $s.Addresses = @()
            $s.Gateway4 = ''
            $s.Gateway6 = ''
        }
    }
    return $s
}

function Clear-VsStatic {
    param([int]$Index)
    Get-NetIPAddress -InterfaceIndex $Index -PrefixOrigin Manual -ErrorAction SilentlyContinue |
        Remove-NetIPAddress -Confirm:$false -ErrorAction SilentlyContinue
    Get-NetRoute -InterfaceIndex $Index -ErrorAction SilentlyContinue |
        Where-Object { $_.NextHop -ne '0.0.0.0' -and $_.NextHop -ne '::' } |
        Remove-NetRoute -Confirm:$false -ErrorAction SilentlyContinue
}

function Set-VsAdapter {
    param($Adapter, $Set)
    $index = [int]$Adapter.ifIndex
    $name = [string]$Adapter.Name
    # DHCP for the address can still come with static DNS servers.
    if ($Set.Dhcp) {
        Invoke-VsChange -What ('switch ' + $name + ' to DHCP') -Action {
            Clear-VsStatic -Index $index
            Set-NetIPInterface -InterfaceIndex $index -AddressFamily IPv4 -Dhcp Enabled
            if (@($Set.Dns).Count -eq 0) {
                Set-DnsClientServerAddress -InterfaceIndex $index -ResetServerAddresses
            }
        } | Out-Null
        Set-VsAdapterDns -Index $index -Name $name -Set $Set
        return
    }
    if ($Set.Addresses.Count -eq 0) {
        Write-VsLog ($name + ': no static addresses recorded; left on DHCP')
        Set-VsAdapterDns -Index $index -Name $name -Set $Set
        return
    }
    Invoke-VsChange -What ('clear the addresses of ' + $name) -Action {
        Set-NetIPInterface -InterfaceIndex $index -AddressFamily IPv4 -Dhcp Disabled
        Clear-VsStatic -Index $index
    } | Out-Null
    foreach ($cidr in $Set.Addresses) {
        $ip = $cidr.Split('/')[0]
        $len = [int]$cidr.Split('/')[1]
        Invoke-VsChange -What ('add ' + $cidr + ' to ' + $name) -Action {
            New-NetIPAddress -InterfaceIndex $index -IPAddress $ip -PrefixLength $len | Out-Null
        } | Out-Null
    }
    foreach ($gw in @($Set.Gateway4, $Set.Gateway6)) {
        if ($gw -eq '') {
            continue
        }
        $dst = '0.0.0.0/0'
        if ($gw.Contains(':')) {
            $dst = '::/0'
        }
        Invoke-VsChange -What ('set the default gateway ' + $gw + ' on ' + $name) -Action {
            New-NetRoute -InterfaceIndex $index -DestinationPrefix $dst -NextHop $gw | Out-Null
        } | Out-Null
    }
    foreach ($r in $Set.Routes) {
        $to = [string]$r.To
        $via = [string]$r.Via
        $metric = [int]$r.Metric
        Invoke-VsChange -What ('add the route ' + $to + ' via ' + $via + ' on ' + $name) -Action {
            if ($metric -ge 0) {
                New-NetRoute -InterfaceIndex $index -DestinationPrefix $to -NextHop $via -RouteMetric $metric | Out-Null
            } else {
                New-NetRoute -InterfaceIndex $index -DestinationPrefix $to -NextHop $via | Out-Null
            }
        } | Out-Null
    }
    Set-VsAdapterDns -Index $index -Name $name -Set $Set
}

function Set-VsAdapterDns {
    param([int]$Index, [string]$Name, $Set)
    $dns = @($Set.Dns | Where-Object { $_ -ne '' })
    if ($dns.Count -gt 0) {
        Invoke-VsChange -What ('set the DNS servers of ' + $Name + ' to ' + ($dns -join ', ')) -Action {
            Set-DnsClientServerAddress -InterfaceIndex $Index -ServerAddresses $dns
        } | Out-Null
    }
    $suffix = [string]$Set.Search
    if ($suffix -ne '') {
        Invoke-VsChange -What ('set the DNS suffix of ' + $Name + ' to ' + $suffix) -Action {
            Set-DnsClient -InterfaceIndex $Index -ConnectionSpecificSuffix $suffix
        } | Out-Null
    }
    $mtu = [int]$Set.Mtu
    if ($mtu -gt 0) {
        Invoke-VsChange -What ('set the MTU of ' + $Name + ' to ' + $mtu) -Action {
            Set-NetIPInterface -InterfaceIndex $Index -NlMtuBytes $mtu
        } | Out-Null
    }
}

# Give the new adapter its old name, now that the ghost holding it is gone.
function Rename-VsAdapter {
    param($Adapter, [string]$OldName)
    $name = [string]$Adapter.Name
    if ($OldName -eq '' -or $OldName -eq $name) {
        return
    }
    if ($null -ne (Get-NetAdapter -Name $OldName -ErrorAction SilentlyContinue)) {
        Write-VsLog ('the name ' + $OldName + ' is taken; ' + $name + ' keeps its name')
        return
    }
    Invoke-VsChange -What ('rename ' + $name + ' to ' + $OldName) -Action {
        Rename-NetAdapter -Name $name -NewName $OldName
    } | Out-Null
}

function Invoke-VsNetwork {
    param($Record)
    $recorded = @($Record.nics | Where-Object { $_.physical })
    $current = @(Get-NetAdapter -Physical -ErrorAction SilentlyContinue)
    if ($recorded.Count -eq 0) {
        Write-VsLog 'the record lists no adapter; network left alone'
        return
    }
    $pairs = Get-VsMatches -Recorded $recorded -Current $current
    foreach ($p in $pairs) {
        $rec = $p.Rec
        $cur = $p.Cur
        Write-VsLog ('recorded ' + $rec.name + ' (' + $rec.mac + ') is now ' + $cur.Name + ' (' + $cur.MacAddress + '), matched by ' + $p.How)
        $set = Get-VsSettings -Rec $rec
        if ($VsMode -eq 'dhcp') {
            $set.Dhcp = $true
            $set.Dns = @()
            $set.Search = ''
            $set.Routes = @()
        }
        Set-VsAdapter -Adapter $cur -Set $set
        # vCenter does not know the guest's adapter names: a record from
        # VMware Tools names them vcenter-nicN, which no adapter had.
        if ($script:FromTools) {
            Write-VsLog ($cur.Name + ' keeps its name (the record from the vCenter inventory has none)')
        } else {
            Rename-VsAdapter -Adapter $cur -OldName ([string]$rec.name)
        }
    }
    $search = @($Record.dns.search | Where-Object { $_ -ne '' })
    if ($search.Count -gt 0 -and $VsMode -eq 'retain') {
        Invoke-VsChange -What ('set the DNS suffix search list to ' + ($search -join ', ')) -Action {
            Set-DnsClientGlobalSetting -SuffixSearchList $search
        } | Out-Null
    }
}

function Invoke-VsAdminScript {
    if ($VsAdminScript -eq '') {
        Write-VsLog 'mode script, but no script was given; network left alone'
        return
    }
    $bytes = [System.Convert]::FromBase64String($VsAdminScript)
    $path = Join-Path -Path $VsDir -ChildPath 'admin-script.ps1'
    [System.IO.File]::WriteAllBytes($path, $bytes)
    if ($DryRun) {
        Write-VsLog ('would run the administrator''s script ' + $path)
        return
    }
    Write-VsLog ('running the administrator''s script ' + $path)
    $env:VMSHIFT_RECORD = $VsRecord
    & powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File $path *>> $VsLog
    Write-VsLog ('the administrator''s script exited with ' + $LASTEXITCODE)
}

# --------------------------------------------------------- VMware Tools

function Get-VsToolsProducts {
    $roots = @('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
               'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall')
    $found = @()
    foreach ($root in $roots) {
        $keys = @(Get-ChildItem -Path $root -ErrorAction SilentlyContinue)
        foreach ($k in $keys) {
            $p = Get-ItemProperty -Path $k.PSPath -ErrorAction SilentlyContinue
            if ($null -ne $p -and $p.PSObject.Properties['DisplayName'] -and [string]$p.DisplayName -eq 'VMware Tools') {
                $found += [pscustomobject]@{ Code = [string]$k.PSChildName; Key = [string]$k.PSPath }
            }
        }
    }
    return ,$found
}

# The Windows Installer keeps products under a "packed" GUID: each of the
# first three groups reversed, then each byte of the last two swapped.
function ConvertTo-VsPackedGuid {
    param([string]$Code)
    $g = $Code.Trim('{', '}').Replace('-', '')
    $out = ''
    foreach ($span in @(@(0, 8), @(8, 4), @(12, 4))) {
        $part = $g.Substring($span[0], $span[1]).ToCharArray()
        [array]::Reverse($part)
        $out += -join $part
    }
    for ($i = 16; $i -lt 32; $i += 2) {
        $out += $g.Substring($i + 1, 1) + $g.Substring($i, 1)
    }
    return $out.ToUpper()
}

# When the MSI refuses to uninstall away from VMware (exit code 1603:
# its custom actions check for VMware hardware), remove what it installed
# by hand: its services, its Installer registration and its folder.
function Remove-VsToolsByHand {
    param($Product)
    Write-VsLog 'removing VMware Tools by hand (services, registry, files)'
    $services = @(Get-ChildItem -Path 'HKLM:\SYSTEM\CurrentControlSet\Services' -ErrorAction SilentlyContinue |
        Where-Object {
            $ip = (Get-ItemProperty -Path $_.PSPath -ErrorAction SilentlyContinue)
            $null -ne $ip -and $ip.PSObject.Properties['ImagePath'] -and ([string]$ip.ImagePath) -match 'VMware\\VMware Tools\\'
        })
    foreach ($s in $services) {
        $svc = [string]$s.PSChildName
        Invoke-VsChange -What ('stop and delete the service ' + $svc) -Action {
            Stop-Service -Name $svc -Force -ErrorAction SilentlyContinue
            & sc.exe delete $svc | Out-Null
        } | Out-Null
    }
    $packed = ConvertTo-VsPackedGuid -Code $Product.Code
    $keys = @($Product.Key,
              ('HKLM:\SOFTWARE\Classes\Installer\Products\' + $packed),
              ('HKLM:\SOFTWARE\Classes\Installer\Features\' + $packed),
              ('HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Installer\UserData\S-1-5-18\Products\' + $packed),
              'HKLM:\SOFTWARE\VMware, Inc.\VMware Tools')
    foreach ($k in $keys) {
        if (Test-Path -LiteralPath $k) {
            Invoke-VsChange -What ('delete the registry key ' + $k) -Action {
                Remove-Item -LiteralPath $k -Recurse -Force
            } | Out-Null
        }
    }
    $folder = Join-Path -Path $env:ProgramFiles -ChildPath 'VMware\VMware Tools'
    if (Test-Path -LiteralPath $folder) {
        Invoke-VsChange -What ('delete ' + $folder) -Action {
            Remove-Item -LiteralPath $folder -Recurse -Force
        } | Out-Null
    }
    $script:NeedReboot = $true
}

function Remove-VsTools {
    if (-not $VsRemoveTools) {
        Write-VsLog 'VMware Tools left installed (as asked)'
        return
    }
    $products = Get-VsToolsProducts
    if ($products.Count -eq 0) {
        Write-VsLog 'VMware Tools are not installed'
        return
    }
    foreach ($p in $products) {
        $msiLog = Join-Path -Path $VsDir -ChildPath 'vmware-tools-uninstall.log'
        $msiArgs = @('/x', $p.Code, '/qn', '/norestart', 'REBOOT=ReallySuppress', '/l*v', ('"' + $msiLog + '"'))
        if ($DryRun) {
            Write-VsLog ('would run msiexec.exe ' + ($msiArgs -join ' '))
            continue
        }
        Write-VsLog ('uninstalling VMware Tools ' + $p.Code)
        $proc = Start-Process -FilePath 'msiexec.exe' -ArgumentList $msiArgs -Wait -PassThru
        $code = [int]$proc.ExitCode
        Write-VsLog ('msiexec exited with ' + $code)
        if ($code -eq 0) {
            continue
        }
        if ($code -eq 3010 -or $code -eq 1641) {
            $script:NeedReboot = $true
        } elseif ($code -eq 1603 -or $code -eq 1605) {
            Remove-VsToolsByHand -Product $p
        } else {
            Write-VsLog ('VMware Tools were not removed; see ' + $msiLog)
        }
    }
}

# ------------------------------------------------------------------ main

New-Item -ItemType Directory -Path $VsDir -Force | Out-Null
$done = Join-Path -Path $VsDir -ChildPath 'reapply.done'
if ((Test-Path -LiteralPath $done) -and -not $Force) {
    Write-VsLog 'already ran; removing the task only'
    Unregister-ScheduledTask -TaskName $VsTask -Confirm:$false -ErrorAction SilentlyContinue
    exit 0
}
Write-VsLog ('starting (mode ' + $VsMode + ')')
Set-VsDisksOnline
Remove-VsGhostAdapters
$record = $null
# A guest nobody prepared has no record of its own: then the record
# beside this script (network.json of the run's bundle, built from what
# VMware Tools reported to vCenter) is used.  A record the prepare script
# made in the guest always wins.
if (-not (Test-Path -LiteralPath $VsRecord) -and [string]$PSScriptRoot -ne '') {
    $beside = Join-Path -Path $PSScriptRoot -ChildPath 'network.json'
    if (Test-Path -LiteralPath $beside) {
        $VsRecord = $beside
    }
}
if (Test-Path -LiteralPath $VsRecord) {
    try {
        $record = Get-Content -LiteralPath $VsRecord -Raw | ConvertFrom-Json
    } catch {
        Write-VsLog ('cannot read ' + $VsRecord + ': ' + $_.Exception.Message)
    }
} else {
    Write-VsLog ('no record at ' + $VsRecord + '; the network is left alone')
}
if ($null -ne $record) {
    if ($record.PSObject.Properties['source'] -and [string]$record.source -eq 'vmware-tools') {
        $script:FromTools = $true
        Write-VsLog ('record: ' + $VsRecord + ' (from the vCenter inventory: what VMware Tools reported)')
    } else {
        Write-VsLog ('record: ' + $VsRecord + ' (made by the prepare script in this guest)')
    }
}
if ($null -ne $record) {
    if ($VsMode -eq 'retain' -or $VsMode -eq 'dhcp') {
        Invoke-VsNetwork -Record $record
    } elseif ($VsMode -eq 'script') {
        Invoke-VsAdminScript
    } else {
        Write-VsLog 'mode keep: network left alone'
    }
}
Remove-VsTools
if (-not $DryRun) {
    Unregister-ScheduledTask -TaskName $VsTask -Confirm:$false -ErrorAction SilentlyContinue
    Write-VsLog ('removed the task ' + $VsTask)
    Set-Content -LiteralPath $done -Value (Get-Date -Format 'o')
}
if ($VsReboot -eq 'always' -and -not $DryRun) {
    $script:NeedReboot = $true
}
if ($script:NeedReboot -and $VsReboot -ne 'never' -and -not $DryRun) {
    Write-VsLog 'restarting once to finish'
    Restart-Computer -Force
}
Write-VsLog 'done'
