#!__BASH__
# Fake libgpiod tool (see devices/gpio/fake-gpiod.ts). State lives in $D.
# Its own helpers (stat, tail, sleep) come from the system even when PATH holds only the fakes.
PATH="$PATH:/usr/local/bin:/usr/bin:/bin"
D=__STATE__
V=__V__
VT=__VT__
TOOL=$(basename "$0")
# One write per call (O_APPEND), so concurrent tools never interleave their lines.
call=$TOOL; for a in "$@"; do call+=$'\t'"$a"; done
printf '%s\n' "$call" >> "$D/argv.log"

die() { echo "$TOOL: $*" >&2; exit 1; }

for a in "$@"; do
  if [ "$a" = --version ] || [ "$a" = -v ]; then
    echo "$TOOL (libgpiod) v$VT"
    echo "Copyright (C) 2017-2023 Bartosz Golaszewski"
    echo "This is free software: you are free to change and redistribute it."
    exit 0
  fi
done

# lookup <id>: v1 takes a chip name, number, path or label; v2 a name, number or path.
lookup() {
  local name label n
  while read -r name label n; do
    if [ "$1" = "$name" ] || [ "$1" = "/dev/$name" ] || [ "gpiochip$1" = "$name" ]; then echo "$name"; return 0; fi
    if [ "$V" = 1 ] && [ "$1" = "$label" ]; then echo "$name"; return 0; fi
  done < "$D/chips"
  return 1
}
count_of() { local name label n; while read -r name label n; do [ "$name" = "$1" ] && echo "$n"; done < "$D/chips"; }

# target <chip-id> <offset>: sets $chip, $off, $f or dies like the tool would.
target() {
  if [ "$V" = 1 ]; then
    chip=$(lookup "$1") || die "$2: No such file or directory"
  else
    chip=$(lookup "$1") || die "cannot find GPIO chip character device '$1'"
  fi
  off=$2
  case "$off" in ''|*[!0-9]*) die "invalid GPIO offset: $off";; esac
  [ "$off" -lt "$(count_of "$chip")" ] || die "offset $off out of range on chip '$chip'"
  f="$D/lines/$chip-$off"
}

# claim <consumer> <direction> <what>: requests the line, or fails with EBUSY like the kernel.
claim() {
  ( set -o noclobber; : > "$f.lock" ) 2>/dev/null || die "$3: Device or resource busy"
  trap 'rm -f "$f.held" "$f.lock"; exit 0' TERM INT HUP
  echo "$2" > "$f.dir"
  held="$1 $2 $$"
}
# publish: the request is complete (value set); gpioinfo shows the line as used from now on.
publish() { echo "$held" > "$f.held"; }
release() { rm -f "$f.held" "$f.lock"; }

apply_bias() {
  [ -e "$f.driven" ] && return
  case "$1" in pull-up) echo 1 > "$f.level";; pull-down) echo 0 > "$f.level";; esac
}

level() { local v=0; [ -e "$f.level" ] && read -r v < "$f.level"; echo "$v"; }

case "$TOOL" in
gpiodetect)
  while read -r name label n; do echo "$name [$label] ($n lines)"; done < "$D/chips"
  ;;

gpioinfo)
  chips=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -c|--chip) [ "$V" = 2 ] || die "invalid option -- 'c'"; shift; c=$(lookup "$1") || die "cannot find GPIO chip character device '$1'"; chips+=("$c");;
      -*) die "unrecognized option '$1'";;
      *) [ "$V" = 1 ] || die "line lookup by name is not faked"; c=$(lookup "$1") || die "looking up chip $1: No such file or directory"; chips+=("$c");;
    esac
    shift
  done
  if [ ${#chips[@]} -eq 0 ]; then while read -r name label n; do chips+=("$name"); done < "$D/chips"; fi
  for chip in "${chips[@]}"; do
    n=$(count_of "$chip")
    echo "$chip - $n lines:"
    mapfile -t names < "$D/names/$chip"
    for ((off = 0; off < n; off++)); do
      f="$D/lines/$chip-$off"
      name=${names[$off]}
      if [ -n "$name" ]; then qname="\"$name\""; else qname=unnamed; fi
      dir=input; [ -e "$f.dir" ] && read -r dir < "$f.dir"
      consumer=""; [ -e "$f.held" ] && read -r consumer _ _ < "$f.held"
      if [ "$V" = 1 ]; then
        if [ -n "$consumer" ]; then c="\"$consumer\""; flags=" [used]"; else c=unused; flags=""; fi
        printf '\tline %3d: %12s %12s %8s %13s%s\n' "$off" "$qname" "$c" "$dir " "active-high " "$flags"
      else
        c=""; [ -n "$consumer" ] && c=" consumer=\"$consumer\""
        printf '\tline %3d:\t%-16s\t%s%s\n' "$off" "$qname" "$dir" "$c"
      fi
    done
  done
  ;;

gpioget)
  pos=(); bias=""; numeric=0; chipopt=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --bias=*) bias=${1#--bias=};;
      -B) [ "$V" = 1 ] || die "invalid option -- 'B'"; shift; bias=$1;;
      -b) [ "$V" = 2 ] || die "invalid option -- 'b'"; shift; bias=$1;;
      -l|--active-low|-a|--as-is) ;;
      --numeric) [ "$V" = 2 ] || die "unrecognized option '--numeric'"; numeric=1;;
      -C) [ "$V" = 2 ] || die "invalid option -- 'C'"; shift;;
      -c) [ "$V" = 2 ] || die "invalid option -- 'c'"; shift; chipopt=$1;;
      -*) die "unrecognized option '$1'";;
      *) pos+=("$1");;
    esac
    shift
  done
  if [ "$V" = 1 ]; then target "${pos[0]}" "${pos[1]}"; else target "$chipopt" "${pos[0]}"; fi
  [ -e "$f.lock" ] && die "error reading GPIO values: Device or resource busy"
  apply_bias "$bias"
  echo input > "$f.dir"
  v=$(level)
  if [ "$V" = 1 ] || [ "$numeric" = 1 ]; then echo "$v"
  elif [ "$v" = 1 ]; then echo "\"$off\"=active"
  else echo "\"$off\"=inactive"; fi
  ;;

gpioset)
  pos=(); mode=exit; banner=0; consumer=gpioset; chipopt=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --mode=*) [ "$V" = 1 ] || die "unrecognized option '--mode'"; mode=${1#--mode=};;
      -m) [ "$V" = 1 ] || die "invalid option -- 'm'"; shift; mode=$1;;
      --banner) [ "$V" = 2 ] || die "unrecognized option '--banner'"; banner=1;;
      -C) [ "$V" = 2 ] || die "invalid option -- 'C'"; shift; consumer=$1;;
      --consumer=*) [ "$V" = 2 ] || die "unrecognized option '--consumer'"; consumer=${1#--consumer=};;
      -c) [ "$V" = 2 ] || die "invalid option -- 'c'"; shift; chipopt=$1;;
      --bias=*|--drive=*) ;;
      -l|--active-low) ;;
      -*) die "unrecognized option '$1'";;
      *) pos+=("$1");;
    esac
    shift
  done
  if [ "$V" = 1 ]; then chipid=${pos[0]}; spec=${pos[1]}; else chipid=$chipopt; spec=${pos[0]}; fi
  [ -n "$chipid" ] || die "the fake tools need a chip"
  target "$chipid" "${spec%%=*}"
  val=${spec#*=}
  case "$val" in 0|1) ;; *) die "invalid line value: $val";; esac
  if [ "$V" = 1 ]; then case "$mode" in exit|wait|signal) ;; *) die "invalid mode: $mode";; esac; fi
  claim "$consumer" output "error setting the GPIO line values"
  echo "$val" > "$f.level"
  echo "$val" >> "$f.writes"
  publish
  [ "$banner" = 1 ] && echo "Setting line '$off'..."
  if [ "$V" = 1 ]; then
    case "$mode" in
      exit) release; exit 0;;
      wait) read -r _; release; exit 0;;
    esac
  fi
  # One process like the real tool: the helper dies with the script.
  sleep infinity &
  helper=$!
  trap 'release; kill $helper 2>/dev/null; exit 0' TERM INT HUP
  wait $helper
  ;;

gpiomon)
  pos=(); banner=0; consumer=gpiomon; chipopt=""; bias=""; fmt=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --format=*) fmt=${1#--format=};;
      -F) shift; fmt=$1;;
      --bias=*) bias=${1#--bias=};;
      -B) [ "$V" = 1 ] || die "invalid option -- 'B'"; shift; bias=$1;;
      -b) if [ "$V" = 1 ]; then :; else shift; bias=$1; fi;;
      --line-buffered) [ "$V" = 1 ] || die "unrecognized option '--line-buffered'";;
      --banner) [ "$V" = 2 ] || die "unrecognized option '--banner'"; banner=1;;
      -C) [ "$V" = 2 ] || die "invalid option -- 'C'"; shift; consumer=$1;;
      -c) [ "$V" = 2 ] || die "invalid option -- 'c'"; shift; chipopt=$1;;
      -l|--active-low|-r|-f|-s) ;;
      -*) die "unrecognized option '$1'";;
      *) pos+=("$1");;
    esac
    shift
  done
  if [ "$V" = 1 ]; then target "${pos[0]}" "${pos[1]}"; else target "$chipopt" "${pos[0]}"; fi
  touch "$f.events"
  start=$(stat -c %s "$f.events")
  claim "$consumer" input "error waiting for events"
  apply_bias "$bias"
  publish
  [ "$banner" = 1 ] && echo "Monitoring line '$off'..."
  # One process like the real tool: tail dies with the script.
  trap 'release; kill $! 2>/dev/null; exit 0' TERM INT HUP
  while IFS= read -r lvl; do
    if [ "$lvl" = 1 ]; then e=1; name=" RISING EDGE"; elif [ "$V" = 1 ]; then e=0; name="FALLING EDGE"; else e=2; name="FALLING EDGE"; fi
    if [ -z "$fmt" ]; then
      echo "event: $name offset: $off timestamp: [       0.000000000]"
    else
      out=${fmt//%o/$off}; out=${out//%e/$e}; out=${out//%s/0}; out=${out//%n/0}; out=${out//%S/0.000000000}
      printf '%s\n' "$out"
    fi
  done < <(exec tail -s 0.02 -c +$((start + 1)) -F "$f.events" 2>/dev/null)
  release
  ;;
esac
