#!/usr/bin/env bash
# The Debian packages the contract tests run for real: Chromium (browser
# tests), Icecast and ffmpeg/ffprobe (the live-audio origin), Janus (the
# WebRTC origin that enforces seats with stored tokens). Installs, with
# apt-get, those whose binary is missing, when running as root; otherwise
# says how to install them and exits 0 (the tests then fail with a clear error).
set -euo pipefail

# binary:package
wanted=(chromium:chromium icecast2:icecast2 ffmpeg:ffmpeg ffprobe:ffmpeg janus:janus)

missing=()
for pair in "${wanted[@]}"; do
  binary=${pair%%:*}
  package=${pair#*:}
  if ! command -v "$binary" >/dev/null 2>&1; then
    case " ${missing[*]-} " in
      *" $package "*) ;;
      *) missing+=("$package") ;;
    esac
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "debian-packages: nothing to install (chromium, icecast2, ffmpeg, ffprobe, janus are present)"
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "debian-packages: missing ${missing[*]}; install them as root: apt-get install -y ${missing[*]}"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# icecast2 asks whether to configure its system-wide server: no (the tests write their own config).
if command -v debconf-set-selections >/dev/null 2>&1; then
  echo "icecast2 icecast2/icecast-setup boolean false" | debconf-set-selections
fi
if apt-get update -qq >/dev/null &&
  apt-get install -y -qq -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}" >/dev/null; then
  echo "debian-packages: installed ${missing[*]}"
else
  echo "debian-packages: could not install ${missing[*]} (apt-get failed); the tests that need them will fail"
fi
