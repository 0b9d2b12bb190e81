#!/bin/sh
# Install check: `meson install` into a scratch DESTDIR, then examples/per_sample_scores.c built against the installed headers and igradv.pc alone (shared and static link) and run; it checks its own numbers.
# usage: tests/install_consumer.sh BUILD_DIR SOURCE_ROOT   (CC overrides the compiler)
set -eu
build=${1:?usage: install_consumer.sh BUILD_DIR SOURCE_ROOT}
src=${2:?usage: install_consumer.sh BUILD_DIR SOURCE_ROOT}
cc=${CC:-cc}
for tool in meson pkg-config "$cc"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "install_consumer: $tool not found"; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest="$tmp/root"

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; echo "install_consumer: meson install failed"; exit 1; }
pc=$(find "$dest" -name igradv.pc | head -1)
[ -n "$pc" ] || { echo "install_consumer: no igradv.pc under $dest"; exit 1; }
for h in ig_tensor.h ig_autograd.h ig_nn.h ig_al.h ig_regress.h ig_data.h ig_util.h ig_safetensors.h ig_dist.h; do
    [ -n "$(find "$dest" -path "*/include/igradv/$h")" ] || { echo "install_consumer: header $h not installed"; exit 1; }
done

# only the installed tree: the .pc's paths are taken under DESTDIR, nothing from the source or build dirs
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags igradv)
libs=$(pkg-config --libs igradv)
libdir=$(dirname "$(dirname "$pc")")
cp "$src/examples/per_sample_scores.c" "$tmp/"
cd "$tmp"

$cc -std=c11 -Wall -Wextra -Werror $cflags per_sample_scores.c $libs -lm -o consumer_shared
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ./consumer_shared cpu >shared.out
cat shared.out
# the shared one must have loaded the installed library, not some other libigradv
LD_LIBRARY_PATH="$libdir" ldd ./consumer_shared | grep -q "$libdir/libigradv.so" ||
    { echo "install_consumer: consumer_shared does not load $libdir/libigradv.so"; exit 1; }

# static: libigradv.a and the Requires.private / Libs.private of igradv.pc
$cc -std=c11 -Wall -Wextra -Werror $cflags per_sample_scores.c $(pkg-config --static --libs igradv | sed "s|-ligradv|$libdir/libigradv.a|") -lm \
    -o consumer_static
./consumer_static cpu >static.out
if ldd ./consumer_static | grep -q libigradv; then
    echo "install_consumer: consumer_static still loads libigradv.so"
    exit 1
fi
# the same program, the same numbers
cmp shared.out static.out || { echo "install_consumer: the shared and static builds print different results"; exit 1; }
grep -q "worst relative error" static.out
echo "install_consumer: ok"
