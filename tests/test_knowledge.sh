#!/bin/sh
# fke knowledge's order of rows and columns (run/knowledge.h): with --labels
# two runs with different frequencies, one of which never sees an occasion
# and a category, give the same rows and columns in the same (label) order
# in every CSV and pictures of one size; the unseen labels keep rows and
# columns of zeros. --sort orders by frequency (so the two runs differ);
# without --labels the names seen are ordered by name. Labels outside
# --labels, and a --labels file that names none, are refused by name.
. tests/lib.sh
"$F" data synth --split train --posts 20 --seed 4 --out "$T/d.h5" >/dev/null 2>&1 && ok || bad "synth"
# a line: occasion, then categories
line() {
    o=$1; shift
    printf '{"post": 0, "occasion": {"label": "%s"}, "garments": [' "$o"
    sep=""
    for c in "$@"; do
        printf '%s{"category": {"label": "%s"}, "attributes": {"colour": {"label": "red"}}}' "$sep" "$c"
        sep=", "
    done
    printf ']}\n'
}
# run a: beach and sport, mostly Dress; run b: sport mostly, Coat and Trouser, no beach, no Dress
{ line beach Dress Sandal; line beach Dress Bag; line sport Trouser Dress; line wedding Dress; } > "$T/a.jsonl"
{ line sport Coat Trouser; line sport Coat Sneaker; line sport Coat; line wedding Trouser Coat; } > "$T/b.jsonl"
for r in a b; do
    expect 0 "posts" "$F" knowledge "$T/$r.jsonl" --out "$T/k$r" --labels "$T/d.h5"
    expect 0 "posts" "$F" knowledge "$T/$r.jsonl" --out "$T/s$r" --labels "$T/d.h5" --sort
    expect 0 "posts" "$F" knowledge "$T/$r.jsonl" --out "$T/n$r"
done
# rows and columns: the first two fields of every CSV line, in order
keys() { cut -d, -f1,2 "$1"; }
for csv in occasion_category cooccurrence; do
    [ "$(keys "$T/ka/$csv.csv")" = "$(keys "$T/kb/$csv.csv")" ] && ok ||
        bad "$csv.csv: runs a and b differ in their rows and columns"
    [ "$(keys "$T/sa/$csv.csv")" != "$(keys "$T/sb/$csv.csv")" ] && ok ||
        bad "$csv.csv with --sort: runs a and b have the same order, the test proves nothing"
done
# the label order: the dataset's occasions (10) x categories (10), in its order
[ "$(grep -c . "$T/kb/occasion_category.csv")" -eq 101 ] && ok || bad "kb/occasion_category.csv: $(grep -c . "$T/kb/occasion_category.csv") lines"
first=$(sed -n 2p "$T/ka/occasion_category.csv" | cut -d, -f1,2)
[ "$first" = "wedding,T-shirt/top" ] && ok || bad "the first cell is $first, not the label order's wedding,T-shirt/top"
# unseen in run b: beach (a row of zeros) and Dress (a column of zeros)
[ "$(grep -c '^beach,' "$T/kb/occasion_category.csv")" -eq 10 ] && ok || bad "beach lost its row"
[ "$(awk -F, '$1 == "beach" {s += $3} END {print s + 0}' "$T/kb/occasion_category.csv")" = 0 ] && ok || bad "beach's row is not zero"
[ "$(awk -F, '$2 == "Dress"' "$T/kb/occasion_category.csv" | wc -l)" -eq 10 ] && ok || bad "Dress lost its column"
grep -q '^Dress,Dress,0$' "$T/kb/cooccurrence.csv" && ok || bad "Dress lost its co-occurrence row"
# the pictures: the same size in both runs (the same rows and columns)
hdr() { od -An -tx1 -j16 -N8 "$1" | tr -d ' \n'; }
for png in occasion_category cooccurrence; do
    [ -n "$(hdr "$T/ka/$png.png")" ] && [ "$(hdr "$T/ka/$png.png")" = "$(hdr "$T/kb/$png.png")" ] && ok ||
        bad "$png.png: sizes $(hdr "$T/ka/$png.png") and $(hdr "$T/kb/$png.png")"
done
# without --labels: the names seen, by name
[ "$(cut -d, -f1 "$T/nb/occasion_category.csv" | sed 1d | uniq | tr '\n' ' ')" = "sport wedding " ] && ok ||
    bad "nb: occasions $(cut -d, -f1 "$T/nb/occasion_category.csv" | sed 1d | uniq | tr '\n' ' ')"
# --sort: most garments first
[ "$(sed -n 2p "$T/sb/occasion_category.csv" | cut -d, -f1,2)" = "sport,Coat" ] && ok ||
    bad "sb: first cell $(sed -n 2p "$T/sb/occasion_category.csv")"
# refused
line nightclub Dress > "$T/c.jsonl"
expect 1 "c.jsonl:1: occasion \"nightclub\" is not one of the 10 occasions of $T/d.h5" \
    "$F" knowledge "$T/c.jsonl" --out "$T/kc" --labels "$T/d.h5"
line beach Kilt > "$T/c.jsonl"
expect 1 "c.jsonl:1: garments\[0\]: category \"Kilt\" is not one of the 10 categories" \
    "$F" knowledge "$T/c.jsonl" --out "$T/kc" --labels "$T/d.h5"
expect 1 "a.jsonl: --labels takes an fke checkpoint or post dataset" \
    "$F" knowledge "$T/a.jsonl" --out "$T/kc" --labels "$T/a.jsonl"
echo "RESULT $p $f"
