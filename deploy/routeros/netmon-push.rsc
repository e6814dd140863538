# netmon-push.rsc: send this router's heartbeat and counts to netmon (kim-netmon, docs/push.md).
# Written for RouterOS 6.49 (long-term) and 7.x; the JSON is built by hand so one file runs on both.
# 1. Set url, token and checkCert below (the token is the one in netmon's config for this device).
# 2. Upload this file to the router (Winbox Files, or scp/sftp), then run it every minute:
#    /system scheduler add name=netmon-push interval=1m start-time=startup policy=read,write,test \
#        on-event="/import file-name=netmon-push.rsc"
# Menus a router may lack (wireless, wifi, wifiwave2, hotspot, DHCP, health rows) are read through :parse
# inside :do/on-error, so a missing package skips that part instead of failing the whole script.
# No MAC address, user name or host name leaves the router: only counts and interface/server names.
{
:local url "https://netmon.example.go.id:9877/push/v1/kim-example-router"
:local token "CHANGE-ME-openssl-rand-hex-24"
:local checkCert "yes"

:global netmonPushJ do={
  :local s [:tostr $1]
  :local out ""
  :if ([:len $s] > 0) do={
    :for i from=0 to=([:len $s] - 1) do={
      :local c [:pick $s $i]
      :if (($c = "\"") or ($c = "\\")) do={ :set out ($out . "\\" . $c) } else={
        :if ($c = "\n") do={ :set out ($out . "\\n") } else={
          :if ($c = "\r") do={ :set out ($out . "\\r") } else={
            :if ($c = "\t") do={ :set out ($out . "\\t") } else={ :set out ($out . $c) }
          }
        }
      }
    }
  }
  :return ("\"" . $out . "\"")
}

# clock and resources
:local body ("{\"v\":1,\"clock\":{\"date\":" . [$netmonPushJ [/system clock get date]] \
  . ",\"time\":" . [$netmonPushJ [/system clock get time]] \
  . ",\"gmt-offset\":" . [$netmonPushJ [/system clock get gmt-offset]] . "}")
:set body ($body . ",\"resource\":{\"uptime\":" . [$netmonPushJ [/system resource get uptime]] \
  . ",\"cpu-load\":" . [$netmonPushJ [/system resource get cpu-load]] \
  . ",\"free-memory\":" . [$netmonPushJ [/system resource get free-memory]] \
  . ",\"total-memory\":" . [$netmonPushJ [/system resource get total-memory]] \
  . ",\"version\":" . [$netmonPushJ [/system resource get version]] \
  . ",\"board-name\":" . [$netmonPushJ [/system resource get board-name]] . "}")
:local rbModel ""
:local rbSerial ""
:do { :set rbModel [/system routerboard get model]; :set rbSerial [/system routerboard get serial-number] } on-error={}
:set body ($body . ",\"routerboard\":{\"model\":" . [$netmonPushJ $rbModel] \
  . ",\"serial-number\":" . [$netmonPushJ $rbSerial] . "}")

# health: v7 one row per sensor (name, value, type), v6 one row with a property per sensor
:local hRows ({})
:do { :set hRows [[:parse ":return [/system health print as-value]"]] } on-error={}
:local part ""
:foreach k,v in=$hRows do={
  :local hName $k
  :local hValue $v
  :local hType ""
  :if ([:typeof $v] = "array") do={ :set hName ($v->"name"); :set hValue ($v->"value"); :set hType ($v->"type") }
  :if ([:len $part] > 0) do={ :set part ($part . ",") }
  :set part ($part . "{\"name\":" . [$netmonPushJ $hName] . ",\"value\":" . [$netmonPushJ $hValue] \
    . ",\"type\":" . [$netmonPushJ $hType] . "}")
}
:set body ($body . ",\"health\":[" . $part . "]")

# interfaces (per-user tunnels, named <pppoe-user>, stay on the router)
:set part ""
:foreach i in=[/interface find] do={
  :local ifName [/interface get $i name]
  :if ([:pick $ifName 0 1] != "<") do={
    :if ([:len $part] > 0) do={ :set part ($part . ",") }
    :set part ($part . "{\"name\":" . [$netmonPushJ $ifName] . ",\"type\":" . [$netmonPushJ [/interface get $i type]] \
      . ",\"rx-byte\":" . [$netmonPushJ [/interface get $i rx-byte]] \
      . ",\"tx-byte\":" . [$netmonPushJ [/interface get $i tx-byte]] \
      . ",\"running\":" . [$netmonPushJ [/interface get $i running]] \
      . ",\"disabled\":" . [$netmonPushJ [/interface get $i disabled]] . "}")
  }
}
:set body ($body . ",\"interfaces\":[" . $part . "]")

# wireless: legacy package (v6, v7), wifi (7.13+), wifiwave2 (7.12 and older); clients counted per interface
:set part ""
:foreach m in={"wireless";"wifi";"wifiwave2"} do={
  :local wRows ({})
  :local rRows ({})
  :local menuOk false
  :do {
    :set wRows [[:parse (":return [/interface " . $m . " print as-value]")]]
    :set rRows [[:parse (":return [/interface " . $m . " registration-table print as-value]")]]
    :set menuOk true
  } on-error={}
  :if ($menuOk) do={
    :foreach w in=$wRows do={
      :local wName ($w->"name")
      :local wSsid ($w->"ssid")
      :local wBand ($w->"band")
      :local wFreq ($w->"frequency")
      :if ($m != "wireless") do={
        :set wSsid ($w->"configuration.ssid"); :set wBand ($w->"channel.band"); :set wFreq ($w->"channel.frequency")
      }
      :local nClients 0
      :local nPeers 0
      :foreach r in=$rRows do={
        :if (($r->"interface") = $wName) do={
          :if ((($r->"ap") = true) or (($r->"wds") = true)) do={ :set nPeers ($nPeers + 1) } else={
            :set nClients ($nClients + 1)
            :if ([:len ($r->"ssid")] > 0) do={ :set wSsid ($r->"ssid") }
            :if ([:len ($r->"band")] > 0) do={ :set wBand ($r->"band") }
          }
        }
      }
      :if ([:len $part] > 0) do={ :set part ($part . ",") }
      :set part ($part . "{\"menu\":" . [$netmonPushJ $m] . ",\"name\":" . [$netmonPushJ $wName] \
        . ",\"ssid\":" . [$netmonPushJ $wSsid] . ",\"band\":" . [$netmonPushJ $wBand] \
        . ",\"frequency\":" . [$netmonPushJ $wFreq] . ",\"master-interface\":" . [$netmonPushJ ($w->"master-interface")] \
        . ",\"clients\":" . [$netmonPushJ $nClients] . ",\"peers\":" . [$netmonPushJ $nPeers] . "}")
    }
  }
}
:set body ($body . ",\"wireless\":[" . $part . "]")

# hotspot: logged-in users and hosts per server
:set part ""
:local hsRows ({})
:local haRows ({})
:local hhRows ({})
:do {
  :set hsRows [[:parse ":return [/ip hotspot print as-value]"]]
  :set haRows [[:parse ":return [/ip hotspot active print as-value]"]]
  :set hhRows [[:parse ":return [/ip hotspot host print as-value]"]]
} on-error={ :set hsRows ({}) }
:foreach s in=$hsRows do={
  :local sName ($s->"name")
  :local nActive 0
  :local nHosts 0
  :foreach a in=$haRows do={ :if (($a->"server") = $sName) do={ :set nActive ($nActive + 1) } }
  :foreach h in=$hhRows do={ :if (($h->"server") = $sName) do={ :set nHosts ($nHosts + 1) } }
  :if ([:len $part] > 0) do={ :set part ($part . ",") }
  :set part ($part . "{\"server\":" . [$netmonPushJ $sName] . ",\"active\":" . [$netmonPushJ $nActive] \
    . ",\"hosts\":" . [$netmonPushJ $nHosts] . "}")
}
:set body ($body . ",\"hotspot\":[" . $part . "]")

# DHCP: bound leases per server
:set part ""
:local dsRows ({})
:local dlRows ({})
:do {
  :set dsRows [[:parse ":return [/ip dhcp-server print as-value]"]]
  :set dlRows [[:parse ":return [/ip dhcp-server lease print as-value where status=bound]"]]
} on-error={ :set dsRows ({}) }
:foreach d in=$dsRows do={
  :local dName ($d->"name")
  :local nBound 0
  :foreach l in=$dlRows do={
    :local lServer ($l->"server")
    :if ([:len $lServer] = 0) do={ :set lServer ($l->"active-server") }
    :if ($lServer = $dName) do={ :set nBound ($nBound + 1) }
  }
  :if ([:len $part] > 0) do={ :set part ($part . ",") }
  :set part ($part . "{\"server\":" . [$netmonPushJ $dName] . ",\"bound\":" . [$netmonPushJ $nBound] . "}")
}
:set body ($body . ",\"dhcp\":[" . $part . "]}")

:do {
  /tool fetch url=$url http-method=post check-certificate=$checkCert output=none \
    http-header-field=("Authorization: Bearer " . $token . ",Content-Type: application/json") http-data=$body
} on-error={ :log warning "netmon-push: sending to netmon failed" }
:set netmonPushJ
}
