# Annoy's quick start, with Grove: only the import differs from code written for Annoy.
from grove import AnnoyIndex
import random

f = 40  # vector length
t = AnnoyIndex(f, 'angular')
for i in range(1000):
    v = [random.gauss(0, 1) for _ in range(f)]
    t.add_item(i, v)

t.build(10)  # 10 trees
t.save('test.ann')

u = AnnoyIndex(f, 'angular')
u.load('test.ann')  # memory-mapped: instant
print(u.get_nns_by_item(0, 1000))  # the 1000 nearest neighbours of item 0
