/* cmd_extract.c - `fke extract`: posts (an fke dataset, or a PNG picture and
 * its garment boxes) to JSON lines of knowledge (run/extract.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "run/extract.h"

static const char usage[] =
    "fke extract CKPT INPUT [--out FILE.jsonl] [--batch N]\n"
    "                  [--boxes BOXES.json] [--names DATA.h5] [--crop resize|window]\n"
    "  INPUT is an fke dataset (every post, in order) or a JPEG or PNG picture whose\n"
    "  garment boxes are in BOXES.json: {\"boxes\": [[x0,y0,x1,y1],...], \"caption\":\n"
    "  [ids] or \"text\"}, in the picture's pixels (x1, y1 exclusive; a box past the\n"
    "  border is clipped to it, as the importers do). A text caption is lowercased, split on what is not a\n"
    "  letter or digit (bytes >= 0x80 stay in words, #tags kept), and looked up in the\n"
    "  checkpoint's vocabulary (else --names'); unknown words become <unk> when the\n"
    "  vocabulary has it, else are dropped (counted on stderr).\n"
    "  One JSON line per post (stdout without --out): occasion (top 3), the dataset's\n"
    "  person when known, with the post's season and country where the dataset has\n"
    "  them (\"given\": true, not predicted), every garment's category\n"
    "  and attribute values with probabilities.\n"
    "  --names DATA.h5  picture input: label names from this dataset (default: the\n"
    "                   names the checkpoint was trained with; numbers if it has none)\n"
    "  --crop MODE      picture input: resize stretches each box to the crop side\n"
    "                   (fke_image_resize_chw, as the importers cut crops and as\n"
    "                   FashionKE-synth's crops are framed); window takes the\n"
    "                   crop-sized window of the resized picture centred on each box;\n"
    "                   without --crop: the checkpoint's rule, resize for every one\n";

int fke_cmd_extract(int argc, char **argv)
{
    fke_extract_opts o;
    memset(&o, 0, sizeof o);
    const char *pos[2];
    fke_extract_info info;
    memset(&info, 0, sizeof info);
    o.info = &info;
    long batch = 0;
    int crop = -1; /* no --crop: FKE_CROP_AUTO */
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
    o.crop = crop == 1 ? FKE_CROP_WINDOW : crop == 0 ? FKE_CROP_RESIZE : FKE_CROP_AUTO;
    fke_err e = {""};
    long n = 0;
    if (fke_extract_run(&o, &n, &e) != FKE_OK) {
        fprintf(stderr, "fke extract: %s\n", e.msg);
        return 1;
    }
    if (info.text_caption) {
        const fke_text_stats *t = &info.text;
        fprintf(stderr, "%s: caption of %d words, %d unknown (%s)%s\n", o.boxes, t->words,
                t->unknown, t->unk_id >= 0 ? "read as <unk>" : "dropped: no <unk> in the vocabulary",
                t->truncated ? ", words past the caption length cut" : "");
    }
    if (o.out && strcmp(o.out, "-")) fprintf(stderr, "%s: %ld posts extracted\n", o.out, n);
    return 0;
}
