/* cmd_data_reveal.c - `fke data reveal DATA QUERY.jsonl OUT`: the queried
 * posts get their true labels and become clean (run/reveal.h). */
#include <stdio.h>

#include "cli/cli.h"
#include "run/reveal.h"

static const char usage[] =
    "fke data reveal DATA.h5 QUERY.jsonl OUT.h5\n"
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
    const fke_cli cli = {"fke data reveal", usage, NULL, "DATA.h5 QUERY.jsonl OUT.h5", 3, 3, pos,
                         NULL};
    int rc = fke_cli_parse(&cli, argc, argv);
    if (rc != FKE_CLI_RUN) return rc;
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
