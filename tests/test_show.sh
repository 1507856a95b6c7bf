#!/bin/sh
# fke data show, with and without --pred (run/show.h): the PNG is whole (its
# signature, IHDR's size as reported, and fke's own PNG reader takes it), a
# set's posts are drawn at one size, predictions make it wider; the number
# of mistakes marked is the number of predictions whose truth differs
# (counted here from the --json cells, independently of the count), the
# predictions are `fke extract`'s for the same post, and bad input is
# refused by name. The pictures were looked at (see run/show.h).
. tests/lib.sh
"$F" data synth --split train --posts 60 --seed 4 --out "$T/d.h5" >/dev/null 2>&1 && ok || bad "synth"
tiny_model "$T/d.h5" "$T/run" --set steps=12
ck="$T/run/last.h5"
# width and height from a PNG's IHDR, "W H"; empty when it is not a PNG
size() {
    [ "$(od -An -tx1 -N16 "$1" | tr -d ' \n')" = "89504e470d0a1a0a0000000d49484452" ] || return
    od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4, $5*16777216 + $6*65536 + $7*256 + $8}'
}
out=$("$F" data show "$T/d.h5" --post 3 --out "$T/a.png" 2>&1) && ok || bad "show: $out"
wh=$(echo "$out" | sed -n 's/.*, \([0-9]*\)x\([0-9]*\)$/\1 \2/p')
[ -n "$wh" ] && [ "$(size "$T/a.png")" = "$wh" ] && ok || bad "a.png is $(size "$T/a.png"), reported '$wh': $out"
"$F" data show "$T/d.h5" --post 7 --out "$T/b.png" >/dev/null 2>&1 && ok || bad "show post 7"
[ "$(size "$T/b.png")" = "$wh" ] && ok || bad "post 7 drawn at $(size "$T/b.png"), post 3 at $wh"
cmp -s "$T/a.png" "$T/b.png" && bad "two posts drew the same picture" || ok
# fke's own PNG reader (libpng) decodes the whole file: extract on the picture
echo '{"boxes": [[0, 0, 40, 40]]}' > "$T/box.json"
expect 0 '"garments"' "$F" extract "$ck" "$T/a.png" --boxes "$T/box.json"

for post in 3 11; do
    "$F" data show "$T/d.h5" --post $post --out "$T/p$post.png" --pred "$ck" --json > "$T/p$post.json" 2>&1 &&
        ok || bad "show --pred: $(cat "$T/p$post.json")"
    j="$T/p$post.json"
    num() { sed -n "s/^	\"$1\":	\([0-9]*\),*$/\1/p" "$j"; }
    [ "$(size "$T/p$post.png")" = "$(num width) $(num height)" ] && ok ||
        bad "p$post.png is $(size "$T/p$post.png"), the JSON says $(num width) $(num height)"
    pw=$(size "$T/p$post.png" | cut -d' ' -f1)
    [ "$pw" -gt "$(echo "$wh" | cut -d' ' -f1)" ] && ok || bad "--pred is not wider ($pw against $wh)"
    # the predictions whose truth differs, counted from the cells
    wrong=$(awk -F'\t' '/"truth":/ {t = $NF} /"predicted":/ {if (t != "null,") n += ($NF != t)}
                        END {print n + 0}' "$j")
    known=$(grep -c '"truth":	"' "$j")
    [ "$(num mistakes)" = "$wrong" ] && [ "$(num checked)" = "$known" ] && ok ||
        bad "post $post: $(num mistakes) of $(num checked) marked, the cells have $wrong of $known"
    [ "$(grep -c '"mistake":	true' "$j")" = "$wrong" ] && ok || bad "post $post: mistake flags"
    [ "$known" -eq $((1 + 5 * $(num garments))) ] && ok || bad "post $post: $known checked predictions"
    # the same forward as fke extract: the same occasion and categories
    line=$("$F" extract "$ck" "$T/d.h5" | grep "^{\"post\":$post,")
    ext=$(echo "$line" | grep -o '"category":{"label":"[^"]*"\|"occasion":{"label":"[^"]*"' | sed 's/.*"label":"//; s/"$//' | tr '\n' ' ')
    mine=$(awk -F'\t' '/"task":/ {t = $NF} /"predicted":/ && (t == "\"occasion\"," || t == "\"category\",") {
        gsub(/^"|",$/, "", $NF); printf "%s ", $NF}' "$j")
    [ -n "$ext" ] && [ "$ext" = "$mine" ] && ok || bad "post $post: extract says '$ext', show drew '$mine'"
done
# the plain line reports the JSON's counts
n1=$(sed -n 's/^	"mistakes":	\([0-9]*\),$/\1/p' "$T/p3.json")
c1=$(sed -n 's/^	"checked":	\([0-9]*\),$/\1/p' "$T/p3.json")
expect 0 "$n1 of $c1 predictions wrong (marked with a red cross)" "$F" data show "$T/d.h5" --post 3 --out "$T/p.png" --pred "$ck"
# bad input
expect 1 "nosuch.h5" "$F" data show "$T/d.h5" --post 3 --out "$T/x.png" --pred "$T/nosuch.h5"
"$F" data synth --split train --posts 10 --seed 4 --img 48 --crop 24 --out "$T/other.h5" >/dev/null 2>&1
expect 1 "other.h5: field /images holds 48x48 images, the model has img = 64" \
    "$F" data show "$T/other.h5" --post 0 --out "$T/x.png" --pred "$ck"
expect 2 "out of range 0..59" "$F" data show "$T/d.h5" --post 60 --out "$T/x.png" --pred "$ck"
[ -e "$T/x.png" ] && bad "a picture was written for bad input" || ok
echo "RESULT $p $f"
