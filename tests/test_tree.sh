#!/bin/sh
# The source tree keeps its shape (src/README.md): every file in src/ is named
# in the map, includes go one way only (cli -> run -> model -> nn -> core,
# run/model -> data -> core, gradcheck -> nn -> core), each piece of plumbing
# exists once, and nothing in the repository points outside it.
. tests/lib.sh

# every file under src/ is named in src/README.md, and every name there exists
for file in src/*/*; do
    name=$(basename "$file")
    if grep -q "\`$name\`" src/README.md; then ok; else bad "src/README.md does not name $file"; fi
done
for name in $(grep -o '`[a-z_0-9]*\.[ch]`' src/README.md | tr -d '`' | sort -u); do
    if ls src/*/"$name" >/dev/null 2>&1; then ok; else bad "src/README.md names $name, which is not in src/"; fi
done

# nothing in src/ is hidden from git by .gitignore (a fresh clone would lack it)
if git rev-parse --git-dir >/dev/null 2>&1; then
    ign=$(git check-ignore src/*/* 2>/dev/null)
    if [ -z "$ign" ]; then ok; else bad "git ignores: $ign"; fi
fi

# the arrows: the folders a layer may include
allowed() {
    case "$1" in
    core) echo "core" ;;
    nn) echo "core nn" ;;
    data) echo "core data" ;;
    model) echo "core nn data model" ;;
    run) echo "core nn data model run" ;;
    cli) echo "core nn data model run cli" ;;
    gradcheck) echo "core nn gradcheck" ;;
    *) echo "" ;;
    esac
}
for file in src/*/*.[ch]; do
    layer=$(basename "$(dirname "$file")")
    [ -n "$(allowed "$layer")" ] || { bad "$file: folder $layer is not a known layer"; continue; }
    wrong=""
    for d in $(sed -n 's/^#include "\([a-z]*\)\/.*/\1/p' "$file" | sort -u); do
        case " $(allowed "$layer") " in *" $d "*) ;; *) wrong="$wrong $d" ;; esac
    done
    if [ -z "$wrong" ]; then ok; else bad "$file ($layer) includes from:$wrong"; fi
    if grep -q '^#include "[a-z_]*\.h"' "$file"; then bad "$file: an include without its folder"; else ok; fi
done

# one home for each piece of plumbing
count() { grep -rn -e "$1" src --include='*.c' | wc -l; }
[ "$(count '[^_a-z]rename(')" -eq 1 ] && ok || bad "rename( appears $(count '[^_a-z]rename(') times in src/ (one atomic write)"
[ "$(count 'fsync(')" -le 3 ] && [ "$(grep -l 'fsync(' src/*/*.c)" = "src/core/file.c" ] && ok ||
    bad "fsync outside src/core/file.c: $(grep -l 'fsync(' src/*/*.c | tr '\n' ' ')"
[ "$(grep -l 'H5Fopen\|H5Fcreate' src/*/*.c)" = "src/core/h5.c" ] && ok ||
    bad "HDF5 files opened outside src/core/h5.c: $(grep -l 'H5Fopen\|H5Fcreate' src/*/*.c | tr '\n' ' ')"
[ "$(grep -l 'strto[lu]' src/cli/*.c)" = "src/cli/opts.c" ] && ok ||
    bad "number parsing outside src/cli/opts.c: $(grep -l 'strto[lu]' src/cli/*.c | tr '\n' ' ')"
[ "$(grep -l 'img_x = [a-z]*alloc' src/*/*.c)" = "src/data/loader.c" ] && ok ||
    bad "fke_batch allocated outside fke_batch_alloc: $(grep -l 'img_x = [a-z]*alloc' src/*/*.c | tr '\n' ' ')"
if grep -n '[^_a-z]exit(\|[^_a-z]abort(' src/[cdmnr]*/*.c | grep -v '^src/cli/' |
    grep -v '^[^:]*:[0-9]*: *\(\*\|/\*\|//\)'; then bad "exit or abort in the library"; else ok; fi

# self-contained: nothing points outside the repository
if grep -rn '\.\./shared\|shared/bench\|shared/MODEL\|MODEL\.md\|FORMATS\.md\|STYLE\.md' \
    README.md src configs experiments tools docs datasets Makefile --include='*' 2>/dev/null |
    grep -v '\.jsonl:'; then
    bad "references outside the repository (above)"
else ok; fi
for c in $("$F" help | sed -n 's/^  \([a-z]*\) .*/\1/p'); do
    if "$F" "$c" --help 2>&1 | grep -q 'docs/model.md'; then ok; else bad "fke $c --help does not point at docs/model.md"; fi
done
[ -f docs/model.md ] && ok || bad "docs/model.md is missing"

# pictures: drawn with cairo (no bitmap font), text at least 12 px: every
# font size a drawing file sets is its FONT (>= 12) plus a positive step,
# or a literal >= 12
for file in $(grep -l "cairo_set_font_size" src/*/*.c); do
    font=$(sed -n 's/^#define FONT \([0-9.]*\).*/\1/p' "$file")
    [ -n "$font" ] && awk -v v="$font" 'BEGIN {exit !(v >= 12)}' && ok || bad "$file: FONT '$font' is under 12 px"
    odd=$(grep -o "cairo_set_font_size(cr, [^)]*)" "$file" | sed 's/cairo_set_font_size(cr, //; s/)$//' |
          grep -v '^FONT$\|^FONT + [0-9.]*$' | awk '!($1 + 0 >= 12)')
    [ -z "$odd" ] && ok || bad "$file: font sizes under 12 px or not FONT: $odd"
done
grep -q "fke_canvas_text\|3x5" src/*/*.h && bad "a bitmap font is back" || ok

echo "tree: $p passed, $f failed"
echo "RESULT $p $f"
