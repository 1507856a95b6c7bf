/* cmd_reveal.c - `fke data reveal DATA QUERY.jsonl OUT`: the queried posts
 * get their true labels and become clean (reveal.h); `fke data` dispatches
 * the subcommand here. */
#include <stdio.h>
#include <string.h>

#include "run/reveal.h"

int fke_cmd_data_reveal(int argc, char **argv);

static const char *reveal_usage =
    "usage: fke data reveal DATA.h5 QUERY.jsonl OUT.h5\n"
    "  Simulates people checking the posts that `fke query` chose: for every post id\n"
    "  in QUERY (JSON lines with an integer \"post\"), the garment training labels\n"
    "  (category, attributes) become the true ones kept in DATA and the post is marked\n"
    "  clean. Machine labels, occasion, images and captions are kept. OUT is written\n"
    "  to a temporary name and renamed (OUT may be DATA). Refused: ids out of range or\n"
    "  repeated, posts already clean, garments without true labels, a malformed or\n"
    "  empty QUERY; nothing is written then.\n";

int fke_cmd_data_reveal(int argc, char **argv)
{
    const char *pos[3];
    int np = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(reveal_usage, stdout);
            return 0;
        }
        if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "fke data reveal: unknown option '%s' (fke data reveal --help)\n",
                    argv[i]);
            return 2;
        }
        if (np == 3) {
            fprintf(stderr, "fke data reveal: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
        pos[np++] = argv[i];
    }
    if (np < 3) {
        fputs(reveal_usage, stderr);
        return 2;
    }
    fke_reveal_stats st;
    fke_err e = {{0}};
    if (fke_reveal_run(pos[0], pos[1], pos[2], &st, &e) != FKE_OK) {
        fprintf(stderr, "fke data reveal: %s\n", e.msg);
        return 1;
    }
    printf("revealed %ld posts (%ld garments): %ld of %ld category labels and %ld of %ld "
           "attribute labels were wrong; %ld clean posts now; wrote %s\n",
           st.posts, st.garments, st.cat_changed, st.garments, st.attr_changed, st.attr_labels,
           st.clean_after, pos[2]);
    return 0;
}
