# Sourced by scripts/test-all.sh first: installs, once per machine, the Debian tools that tests run
# as real parts (exiftool to cross-check EXIF readings, poppler to read exported PDFs back, the CJK
# font the record's PDF embeds, ffmpeg for media fixtures, PostgreSQL for intake). Each package is
# skipped when its command or file is already present; `apt-get update` runs only when something is
# missing, because a fresh machine's package lists are empty.

fieldseal_tools() {
    local missing=()
    command -v exiftool >/dev/null 2>&1 || missing+=(libimage-exiftool-perl)
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    [ -f /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc ] || missing+=(fonts-noto-cjk)
    command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
    command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
    [ "${#missing[@]}" -eq 0 ] && return 0
    echo "tools: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

fieldseal_tools
