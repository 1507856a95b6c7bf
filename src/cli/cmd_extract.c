/* cmd_extract.c - `fke extract` (posts to JSON lines of knowledge) and `fke
 * knowledge` (JSON lines to tables and heat maps). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "run/extract.h"
#include "run/knowledge.h"

static const char *extract_usage =
    "usage: fke extract CKPT INPUT [--out FILE.jsonl] [--batch N]\n"
    "                  [--boxes BOXES.json] [--names DATA.h5] [--crop resize|window]\n"
    "  INPUT is an fke dataset (every post, in order) or a PNG picture whose garment\n"
    "  boxes are in BOXES.json: {\"boxes\": [[x0,y0,x1,y1],...], \"caption\": [ids]}.\n"
    "  One JSON line per post (stdout without --out): occasion (top 3), person when\n"
    "  known, every garment's category and attribute values with probabilities.\n"
    "  --names DATA.h5  PNG input: label names from this dataset (else numbers)\n"
    "  --crop window    PNG input: crops are the crop-sized window of the resized\n"
    "                   picture centred on each box (as FashionKE-synth cuts them);\n"
    "                   default resize: each box resized to the crop side\n";

static const char *knowledge_usage =
    "usage: fke knowledge EXTRACT.jsonl [EXTRACT2.jsonl ...] --out DIR [--top K]\n"
    "  aggregates `fke extract` lines: DIR/occasion_category.csv, attributes.csv,\n"
    "  cooccurrence.csv, occasion_category.png, cooccurrence.png; prints the top K\n"
    "  (default 3) categories of every occasion\n";

static int parse_int(const char *s, long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long x = strtol(s, &end, 10);
    if (errno || end == s || *end || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

int fke_cmd_extract(int argc, char **argv)
{
    fke_extract_opts o;
    memset(&o, 0, sizeof o);
    const char *pos[2] = {NULL, NULL};
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(extract_usage, stdout);
            return 0;
        }
        if (a[0] == '-' && a[1]) {
            const char *v = i + 1 < argc ? argv[++i] : NULL;
            long n;
            if (!v) {
                fprintf(stderr, "fke extract: option %s needs a value (fke extract --help)\n", a);
                return 2;
            }
            if (!strcmp(a, "--out")) o.out = v;
            else if (!strcmp(a, "--boxes")) o.boxes = v;
            else if (!strcmp(a, "--names")) o.names = v;
            else if (!strcmp(a, "--batch")) {
                if (parse_int(v, 1, 1000000, &n)) {
                    fprintf(stderr, "fke extract: --batch must be 1..1000000, not '%s'\n", v);
                    return 2;
                }
                o.batch = (int)n;
            } else if (!strcmp(a, "--crop")) {
                if (!strcmp(v, "resize")) o.crop = FKE_CROP_RESIZE;
                else if (!strcmp(v, "window")) o.crop = FKE_CROP_WINDOW;
                else {
                    fprintf(stderr, "fke extract: --crop must be resize or window, not '%s'\n", v);
                    return 2;
                }
            } else {
                fprintf(stderr, "fke extract: unknown option '%s' (fke extract --help)\n", a);
                return 2;
            }
        } else if (np < 2) {
            pos[np++] = a;
        } else {
            fprintf(stderr, "fke extract: unexpected argument '%s' (fke extract --help)\n", a);
            return 2;
        }
    }
    if (np < 2) {
        fputs(extract_usage, stderr);
        return 2;
    }
    o.ckpt = pos[0], o.input = pos[1];
    fke_err e = {""};
    long n = 0;
    if (fke_extract_run(&o, &n, &e) != FKE_OK) {
        fprintf(stderr, "fke extract: %s\n", e.msg);
        return 1;
    }
    if (o.out && strcmp(o.out, "-")) fprintf(stderr, "%s: %ld posts extracted\n", o.out, n);
    return 0;
}

int fke_cmd_knowledge(int argc, char **argv)
{
    const char *out = NULL;
    long top = 3;
    int nin = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(knowledge_usage, stdout);
            return 0;
        }
        if (!strcmp(a, "--out") || !strcmp(a, "--top")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "fke knowledge: option %s needs a value\n", a);
                return 2;
            }
            if (!strcmp(a, "--out")) out = argv[++i];
            else if (parse_int(argv[++i], 1, 8, &top)) {
                fprintf(stderr, "fke knowledge: --top must be 1..8, not '%s'\n", argv[i]);
                return 2;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "fke knowledge: unknown option '%s' (fke knowledge --help)\n", a);
            return 2;
        } else {
            nin++;
        }
    }
    if (!out || !nin) {
        fputs(knowledge_usage, stderr);
        return 2;
    }
    fke_knowledge k;
    fke_knowledge_init(&k);
    fke_err e = {""};
    fke_status st = FKE_OK;
    for (int i = 1; st == FKE_OK && i < argc; i++) {
        if (!strcmp(argv[i], "--out") || !strcmp(argv[i], "--top")) {
            i++;
            continue;
        }
        st = fke_knowledge_add_file(&k, argv[i], &e);
    }
    if (st == FKE_OK) st = fke_knowledge_write(&k, out, &e);
    if (st == FKE_OK) fke_knowledge_print(&k, stdout, (int)top);
    fke_knowledge_free(&k);
    if (st != FKE_OK) {
        fprintf(stderr, "fke knowledge: %s\n", e.msg);
        return 1;
    }
    return 0;
}
