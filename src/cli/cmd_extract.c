/* cmd_extract.c - `fke extract`: posts (an fke dataset, or a PNG picture and
 * its garment boxes) to JSON lines of knowledge (run/extract.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "run/extract.h"

static const char usage[] =
    "fke extract CKPT INPUT [--out FILE.jsonl] [--batch N]\n"
    "                  [--boxes BOXES.json] [--names DATA.h5] [--crop resize|window]\n"
    "  INPUT is an fke dataset (every post, in order) or a PNG picture whose garment\n"
    "  boxes are in BOXES.json: {\"boxes\": [[x0,y0,x1,y1],...], \"caption\": [ids]}.\n"
    "  One JSON line per post (stdout without --out): occasion (top 3), person when\n"
    "  known, every garment's category and attribute values with probabilities.\n"
    "  --names DATA.h5  PNG input: label names from this dataset (default: the names\n"
    "                   the checkpoint was trained with; numbers if it has none)\n"
    "  --crop window    PNG input: crops are the crop-sized window of the resized\n"
    "                   picture centred on each box (as FashionKE-synth cuts them);\n"
    "                   default resize: each box resized to the crop side\n";

int fke_cmd_extract(int argc, char **argv)
{
    fke_extract_opts o;
    memset(&o, 0, sizeof o);
    const char *pos[2];
    long batch = 0;
    int crop = 0;
    const fke_cli_opt opts[] = {
        {"--out", "FILE.jsonl", FKE_CLI_STR, .dst = &o.out},
        {"--batch", "N", FKE_CLI_INT, .dst = &batch, .lo = 1, .hi = 1000000},
        {"--boxes", "BOXES.json", FKE_CLI_STR, .dst = &o.boxes},
        {"--names", "DATA.h5", FKE_CLI_STR, .dst = &o.names},
        {"--crop", "resize|window", FKE_CLI_CHOICE, .dst = &crop,
         .choices = (const char *const[]){"resize", "window", NULL}},
        {0}};
    const fke_cli cli = {"fke extract", usage, opts, "CKPT INPUT", 2, 2, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    o.ckpt = pos[0], o.input = pos[1];
    o.batch = (int)batch;
    o.crop = crop ? FKE_CROP_WINDOW : FKE_CROP_RESIZE;
    fke_err e = {""};
    long n = 0;
    if (fke_extract_run(&o, &n, &e) != FKE_OK) {
        fprintf(stderr, "fke extract: %s\n", e.msg);
        return 1;
    }
    if (o.out && strcmp(o.out, "-")) fprintf(stderr, "%s: %ld posts extracted\n", o.out, n);
    return 0;
}
