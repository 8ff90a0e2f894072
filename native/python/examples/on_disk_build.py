# Build straight into a file (for data larger than memory), then serve it from another process:
# run "python on_disk_build.py build", then "python on_disk_build.py query".
from grove import AnnoyIndex
import random
import sys

f = 32
if sys.argv[1] == 'build':
    t = AnnoyIndex(f, 'euclidean')
    t.on_disk_build('big.ann')  # before add_item: the index grows in the file
    for i in range(5000):
        t.add_item(i, [random.gauss(0, 1) for _ in range(f)])
    t.build(10)  # the file is complete now; no save() needed
else:
    u = AnnoyIndex(f, 'euclidean')
    u.load('big.ann')
    print(u.get_n_items(), u.get_nns_by_item(0, 10))
