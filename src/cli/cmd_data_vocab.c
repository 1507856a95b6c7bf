/* cmd_data_vocab.c - `fke data vocab`: a caption vocabulary (data/text.h)
 * from the training captions: the "text" of the posts a FashionKE release's
 * training list names, or the lines of a text file, one caption a line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "core/file.h"
#include "data/import_fashionke.h"
#include "data/text.h"

const char fke_data_vocab_usage[] =
    "fke data vocab SOURCE --out VOCAB.txt [--min-count N] [--max-words M]\n"
    "         [--noise-ratio R]\n"
    "         the caption vocabulary of the training captions: SOURCE is a FashionKE\n"
    "         release folder (the \"text\" of the posts train_ids_<R>.json lists) or a\n"
    "         text file with one caption a line. Words by the tokenizer's rules\n"
    "         (datasets/README.md, \"Captions as text\"); the file has <pad>, <unk>, then\n"
    "         each word seen at least N times (default 2), most frequent first, at most\n"
    "         M entries (default 20000). For fke data import fashionke --vocab.\n";

/* The lines of path as captions (\r\n ends accepted). */
static fke_status lines_of(const char *path, char ***texts, long *n, fke_err *e)
{
    char *t;
    size_t len;
    *texts = NULL, *n = 0;
    FKE_TRY(fke_read_file(path, 1 << 30, &t, &len, e));
    long k = 1;
    for (size_t i = 0; i < len; i++) k += t[i] == '\n';
    char **v = calloc((size_t)k + 1, sizeof *v);
    if (!v) return free(t), fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
    long m = 0;
    for (char *p = t, *nl; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl) *nl = 0;
        if (!(v[m++] = strdup(p))) {
            free(t);
            fke_strings_free(v, -1);
            return fke_fail(e, FKE_ERR_NOMEM, "%s: no memory", path);
        }
    }
    free(t);
    *texts = v, *n = m;
    return FKE_OK;
}

int fke_cmd_data_vocab(int argc, char **argv)
{
    const char *pos[1], *out = NULL;
    long min_count = 2, max_words = 20000;
    double ratio = 0.7;
    const fke_cli_opt opts[] = {
        {"--out", "VOCAB.txt", FKE_CLI_STR, .dst = &out, .flags = FKE_CLI_REQUIRED},
        {"--min-count", "N", FKE_CLI_INT, .dst = &min_count, .lo = 1, .hi = 1e9},
        {"--max-words", "M", FKE_CLI_INT, .dst = &max_words, .lo = 3, .hi = 10000000},
        {"--noise-ratio", "R", FKE_CLI_REAL, .dst = &ratio, .lo = 0, .hi = 1},
        {0}};
    const fke_cli cli = {"fke data vocab", fke_data_vocab_usage, opts, "SOURCE", 1, 1, pos, NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
    fke_err e = {{0}};
    char **texts = NULL, **vocab = NULL;
    long n = 0;
    int V = 0;
    struct stat sb;
    int release = stat(pos[0], &sb) == 0 && S_ISDIR(sb.st_mode);
    fke_status st;
    if (release) {
        fke_fashionke_opts o;
        fke_fashionke_defaults(&o);
        o.dir = pos[0];
        o.noise_ratio = ratio;
        st = fke_fashionke_captions(&o, &texts, &n, &e);
    } else {
        st = lines_of(pos[0], &texts, &n, &e);
    }
    fke_vocab_stats vs;
    if (st == FKE_OK)
        st = fke_vocab_build((const char *const *)texts, n, (int)min_count, (int)max_words, &vocab,
                             &V, &vs, &e);
    if (st == FKE_OK) st = fke_vocab_save(out, vocab, V, &e);
    fke_strings_free(texts, -1);
    fke_strings_free(vocab, -1);
    if (st != FKE_OK) {
        fprintf(stderr, "fke data vocab: %s\n", e.msg);
        return 1;
    }
    printf("%s: %d entries (<pad>, <unk> and %d words) from %ld captions of %s: %ld words, %ld "
           "distinct; %ld distinct words left out (seen fewer than %ld times, or past %ld "
           "entries); the kept words cover %.1f%% of the text\n",
           out, V, V - 2, vs.texts, pos[0], vs.words, vs.distinct, vs.dropped_distinct, min_count,
           max_words, vs.words ? 100.0 * vs.kept_words / vs.words : 0.0);
    return 0;
}
