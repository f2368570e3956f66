#!/usr/bin/env bash
# Installs the Debian bookworm packages kefu needs. Idempotent: apt runs only
# for packages that are missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates
  libboost1.81-dev libsqlite3-dev sqlite3 libpq-dev postgresql-15 libhiredis-dev redis-server haproxy nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libtomlplusplus-dev libicu-dev libssl-dev libsodium-dev
  libfasttext-dev python3-jieba
  libgtest-dev libgmock-dev libbenchmark-dev
  nginx-light wrk libmimalloc-dev
  nodejs npm chromium fonts-wqy-microhei
  # pictures (src/channels): sniffing, decoding/EXIF stripping/thumbnails
  # (libvips with HEIC through libheif), OCR (tesseract chi_sim+eng; leptonica
  # prepares the pictures), QR and barcodes (zbar); fonts-noto-cjk renders the
  # OCR tests' images and kefu eval ocr's screenshots
  libmagic-dev libvips-dev libexif-dev libheif-dev
  libtesseract-dev libleptonica-dev tesseract-ocr-chi-sim tesseract-ocr-eng libzbar-dev fonts-noto-cjk
  # voice (src/voice, src/audio): embedded ASR (pocketsphinx en-us) and TTS
  # (espeak-ng), audio files, resampling, Opus, VAD (webrtc-audio-processing),
  # pitch (aubio), WER scoring (sctk)
  libpocketsphinx-dev pocketsphinx-en-us libsphinxbase-dev espeak-ng libespeak-ng-dev
  libsndfile1-dev libsamplerate0-dev libopus-dev libwebrtc-audio-processing-dev libaubio-dev sctk
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# nodejs from another source may already provide npm; don't fight it.
if command -v npm >/dev/null 2>&1; then
  tmp=()
  for p in "${missing[@]}"; do [[ "$p" == npm || "$p" == nodejs ]] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "deps: all Debian packages present"
fi
