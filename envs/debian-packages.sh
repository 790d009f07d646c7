#!/bin/sh
# Install the Debian packages of one list (envs/apt-*.txt) if any is missing.
#   usage: sh envs/debian-packages.sh LIST "what needs them" "what happens without them"
# As root with apt-get: installs the missing ones with --no-install-recommends, with a policy-rc.d
# that forbids starting services, then disables every system service that the packages installed
# now brought (Debian's maintainer scripts enable a service even when policy-rc.d stops it from
# starting, and it would then start at the next boot). Packages that were already installed,
# and their services, are left as they are.
# Otherwise: prints the missing packages to ask an administrator for, and exits 0 (the caller
# goes on: what needs them fails or is skipped, naming them).
set -eu
list=$1
purpose=$2
without=$3

pkgs=$(sed -e 's/#.*//' "$list" | tr -s ' \t\n' '  ')
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=""
if command -v dpkg-query >/dev/null 2>&1; then
  for p in $pkgs; do installed "$p" || missing="$missing $p"; done
else
  missing=" $pkgs"
fi
missing=${missing# }
[ -n "$missing" ] || exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then why="not running as root"; else why="no apt-get on this machine"; fi
  cat >&2 <<MSG
learndyn: $why, so these Debian packages for $purpose are not installed: $missing
  Ask your administrator for them (Debian/Ubuntu):
    sudo apt-get install --no-install-recommends $missing
  (list: $list). Without them: $without
MSG
  exit 0
fi

policy=/usr/sbin/policy-rc.d
saved=""
restore() {
  if [ -n "$saved" ]; then mv -f "$saved" "$policy"; else rm -f "$policy"; fi
}
if [ -e "$policy" ]; then saved=$(mktemp "$policy.learndyn.XXXXXX"); cp -p "$policy" "$saved"; fi
trap restore EXIT
trap 'exit 1' INT TERM
printf '#!/bin/sh\n# learndyn (envs/debian-packages.sh): start no service while installing\nexit 101\n' >"$policy"
chmod 755 "$policy"

before=$(mktemp)
dpkg-query -W -f='${Package}\n' | sort >"$before"
echo "learndyn: installing Debian packages for $purpose: $missing"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
new=$(dpkg-query -W -f='${Package}\n' | sort | comm -13 "$before" -)
rm -f "$before"

units=""
scripts=""
for p in $new; do
  for f in $(dpkg -L "$p" 2>/dev/null); do
    case $f in
      */systemd/system/*@.service) ;;  # templates: enabled only through an instance
      */systemd/system/*.service|*/systemd/system/*.socket|*/systemd/system/*.timer) units="$units ${f##*/}" ;;
      /etc/init.d/*) scripts="$scripts ${f##*/}" ;;
    esac
  done
done
for s in $scripts; do update-rc.d "$s" disable >/dev/null 2>&1 || true; done
if command -v systemctl >/dev/null 2>&1; then
  for u in $units; do systemctl disable --quiet --no-reload "$u" >/dev/null 2>&1 || true; done
  for u in $units; do
    state=$(systemctl is-enabled "$u" 2>/dev/null || true)
    case $state in
      enabled|enabled-runtime|linked|linked-runtime)
        echo "learndyn: WARNING: service $u is still $state" >&2 ;;
      *) echo "learndyn: service $u: ${state:-not enabled}, not started" ;;
    esac
  done
elif [ -n "$units$scripts" ]; then
  echo "learndyn: no systemctl here, so no systemd unit can be enabled; init scripts disabled:$scripts"
fi
