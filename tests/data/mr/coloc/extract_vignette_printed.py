"""Extract the coloc.abf outputs printed in coloc 6.0.1's rendered vignettes.

Reads docs/articles/{a03_enumeration,a04_sensitivity,a05_conditioning,a06_SuSiE,
                a07_variant-specific-priors}.html
of github.com/chr1swallace/coloc at commit 50fe5291fea7f8ab49823bd86747385d6e56870f and writes the
printed numbers, as text, to coloc_vignette_printed.csv (one row per printed value, with the file,
the case and the quantity).  Usage: python extract_vignette_printed.py <docs/articles dir> <out.csv>
"""
import csv
import html
import re
import sys

src, out = sys.argv[1], sys.argv[2]


def blocks(name):
    t = open(f"{src}/{name}.html", encoding="utf-8").read()
    return [html.unescape(re.sub(r"<[^>]+>", "", b)) for b in re.findall(r"<pre[^>]*>(.*?)</pre>", t, re.S)]


rows = []


def posterior(name, case, nth):
    """The nth 'Posterior' table (nsnps H0..H4) printed by print.coloc_abf in file `name`."""
    found = [b for b in blocks(name) if re.search(r"nsnps\s+H0\s+H1\s+H2\s+H3\s+H4", b)]
    lines = found[nth].strip().splitlines()
    keys, vals = lines[0].replace("#", "").split(), lines[1].replace("#", "").split()
    for k, v in zip(keys, vals):
        rows.append([f"docs/articles/{name}.html", case, k, v])


posterior("a03_enumeration", "d1_d2", 0)
posterior("a04_sensitivity", "d1_d2_p12_1e6", 0)
posterior("a04_sensitivity", "d1a_d2a_p12_1e6", 1)
posterior("a05_conditioning", "d3_d4", 0)
posterior("a07_variant-specific-priors", "d1_d2_weights1", 0)
posterior("a07_variant-specific-priors", "d1_d2", 1)

# hypothesis priors printed for D1/D2 (500 SNPs, default priors)
b = [b for b in blocks("a03_enumeration") if re.search(r"H0\s+H1\s+H2\s+H3\s+H4\n", b) and "nsnps" not in b][0]
lines = b.strip().splitlines()
for k, v in zip(lines[0].replace("#", "").split(), lines[1].replace("#", "").split()):
    rows.append(["docs/articles/a03_enumeration.html", "d1_d2", f"prior.{k}", v])

# per-SNP results rows printed for D1/D2: subset(my.res$results, SNP.PP.H4 > 0.01)
b = [b for b in blocks("a03_enumeration") if "internal.sum.lABF" in b][0]
lines = [ln.replace("##", "").split() for ln in b.strip().splitlines()]
head1, r1a, r1b, head2, r2a, r2b = lines
for part_head, rws in ((head1, (r1a, r1b)), (head2, (r2a, r2b))):
    for r in rws:
        vals = r[1:]  # drop the row number
        snp = (r1a if r in (r1a, r2a) else r1b)[1]
        for k, v in zip(part_head, vals):
            if k not in ("snp", "position"):
                rows.append(["docs/articles/a03_enumeration.html", "d1_d2", f"{snp}:{k}", v])

# finemap.abf(D1) rows 21..30: V., z., r., lABF. of dataset D1 (= V.df1 ... of coloc.abf)
b = [b for b in blocks("a03_enumeration") if "SNP.PP" in b and "lABF." in b][0]
lines = [ln.replace("##", "").split() for ln in b.strip().splitlines()]
head = lines[0]
for r in lines[1:]:
    d = dict(zip(head, r[1:]))
    for k in ("V.", "z.", "r.", "lABF."):
        rows.append(["docs/articles/a03_enumeration.html", "d1_d2", f"{d['snp']}:{k[:-1]}.df1", d[k]])

# credible set printed by the vignette
b = [b for b in blocks("a03_enumeration") if re.fullmatch(r'\s*## \[1\] "s\d+"\s*', b)][0]
rows.append(["docs/articles/a03_enumeration.html", "d1_d2", "credible_set_95", b.split('"')[1]])

# coloc.susie(S3, S4)$summary printed in a06_SuSiE.html (a data.table, wrapped over two parts)
git_file = "docs/articles/a06_SuSiE.html"
b = [b for b in blocks("a06_SuSiE") if "PP.H4.abf" in b and "hit1" in b][0]
lines = [ln.replace("##", "").split() for ln in b.strip().splitlines()]
parts, cur = [], None
for ln in lines:
    if ln and ln[0] in ("nsnps", "PP.H4.abf"):
        cur = {"head": ln, "rows": []}
        parts.append(cur)
    elif ln and ln[0] in ("1:", "2:"):
        cur["rows"].append(ln)
for part in parts:
    for r in part["rows"]:
        for k, v in zip(part["head"], r[1:]):
            rows.append([git_file, "coloc_susie_S3_S4", f"row{r[0][0]}:{k}", v])

with open(out, "w", newline="") as fh:
    w = csv.writer(fh)
    w.writerow(["source", "case", "quantity", "printed"])
    w.writerows(rows)
