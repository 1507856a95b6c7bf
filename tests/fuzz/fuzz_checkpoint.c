/* fuzz_checkpoint.c - checkpoints (model/checkpoint.c), as file images in
 * memory: the config, the names and, into a fixed tiny model, the weights,
 * optimiser state and run state. */
/* HDF5 leaks on its own error paths (tests/fuzz/lsan.supp), so libFuzzer's
 * leak scan after each such input would cost more than the input: leaks are
 * checked once, at exit (still failing the run on any of fke's). */
/* libfuzzer: -detect_leaks=0 */
#include "fuzz.h"
#include "model/checkpoint.h"
#include "model/model_io.h"

static const char *sets[] = {"preset=fke-small", "chans=[4,4,8]", "F=8", "H=8", "H2=8", "M=8",
                             "D=8", "Co=4", "T=8", "n_occ=3", "n_cat=3", "n_val=[2]", "V=4",
                             "G=2", "img=8", "crop=8", "L=5", "threads=1", NULL};

static int tiny_model(fke_model *m)
{
    fke_config c;
    fke_config_defaults(&c);
    fke_err e = {""};
    for (int i = 0; sets[i]; i++)
        if (fke_config_set(&c, sets[i], &e) != FKE_OK) return 0;
    return fke_model_init(m, &c, &e) == FKE_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    static fke_model m;
    static int ready = 0;
    if (!ready) ready = tiny_model(&m) ? 1 : -1;
    const char *p = "fuzz.h5";
    fke_err e = {""};
    char *json = NULL;
    if (fke_checkpoint_read_config_image(p, data, n, &json, &e) == FKE_OK) {
        fke_config c;
        fke_config_defaults(&c);
        fke_config_from_json(&c, json, p, &e);
        free(json);
    }
    fke_ckpt_names nm;
    int found = 0;
    if (fke_checkpoint_read_names_image(p, data, n, &nm, &found, &e) == FKE_OK)
        fke_ckpt_names_free(&nm);
    if (ready == 1) {
        fke_ckpt_meta meta;
        if (fke_checkpoint_load_image(p, data, n, &m.P, 1, &meta, &e) == FKE_OK)
            free(meta.config_json);
        int loaded = 0;
        fke_checkpoint_load_partial_image(p, data, n, &m.P, &loaded, &e);
    }
    return 0;
}

void fuzz_seeds(const char *dir)
{
    fke_model m;
    if (!tiny_model(&m)) return;
    static const char *occ[] = {"beach", "sport", "office"}, *vn[] = {"red", "blue"},
                      *an[] = {"colour"};
    fke_ckpt_names nm;
    memset(&nm, 0, sizeof nm);
    nm.n_occ = 3, nm.n_cat = 3, nm.A = 1, nm.n_val[0] = 2;
    nm.occ = (char **)occ, nm.cat = (char **)occ, nm.attr = (char **)an, nm.val[0] = (char **)vn;
    nm.img = 8, nm.crop = 8, nm.pixel_mean = 0.5, nm.pixel_std = 0.25;
    fke_ckpt_meta meta = {.step = 3, .epoch = 1, .pos = 3, .rng = {1, 2, 3, 4}, .best = 0.5,
                          .names = &nm};
    char p[1024];
    snprintf(p, sizeof p, "%s/tmp.h5", dir);
    fke_err e = {""};
    if (fke_model_save(&m, p, &meta, &e) == FKE_OK) fuzz_seed_from(dir, "ckpt.h5", p);
    fke_model_free(&m);
}
