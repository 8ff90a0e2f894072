// grove._grove: the native AnnoyIndex and ShardedIndex for Python, with Annoy's Python API.
// Thin: argument conversion, the GIL, and grove::Error turned into the exceptions Python
// users expect. Every check and message is the C++ library's.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <condition_variable>
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "grove/grove.h"

namespace py = pybind11;
using grove::AnnoyIndex;
using grove::ErrorCode;

namespace {

// Sets Python's error to `type`(message); the message decoded with backslashreplace, so a
// byte that is not UTF-8 (from a file's contents) shows as \xNN rather than emptying it.
void set_error(PyObject* type, const grove::Error& e) {
  const std::string message = e.what();
  py::object text = py::reinterpret_steal<py::object>(
      PyUnicode_DecodeUTF8(message.data(), static_cast<Py_ssize_t>(message.size()), "backslashreplace"));
  if (!text) return;  // the decode's own error stays set
  // OSError(errno, message) picks the subclass itself: FileNotFoundError for ENOENT.
  py::object error = e.sys_errno() && type == PyExc_OSError ? py::handle(type)(e.sys_errno(), text) : py::handle(type)(text);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
}

// grove::Error as Annoy's users expect: bad ids are IndexError, bad values ValueError, files
// OSError (IOError, with errno where the system gave one), call order RuntimeError, memory
// MemoryError.
void raise(const grove::Error& e) {
  switch (e.code()) {
    case ErrorCode::OutOfRange: return set_error(PyExc_IndexError, e);
    case ErrorCode::InvalidArgument: return set_error(PyExc_ValueError, e);
    case ErrorCode::Io:
    case ErrorCode::BadFormat: return set_error(PyExc_OSError, e);
    case ErrorCode::OutOfMemory: return set_error(PyExc_MemoryError, e);
    case ErrorCode::WrongState: return set_error(PyExc_RuntimeError, e);
  }
  set_error(PyExc_RuntimeError, e);
}

// A vector of f real numbers from a numeric numpy array, or from any object with len() and
// v[0] .. v[f - 1] holding real numbers (list, tuple, sequence), read as Annoy reads it: the
// length first (IndexError if it is not f), then each element through Python's own float
// conversion, so a wrong type gets Python's own TypeError ("object of type 'X' has no len()",
// "'X' object is not subscriptable", "must be real number, not str"), as in Annoy.
std::vector<float> to_vector(const py::handle& v, int f, const char* what) {
  std::vector<float> out;
  auto wrong_length = [&](std::size_t got) {
    return grove::Error(ErrorCode::OutOfRange, std::string(what) + " has wrong length (expected " + std::to_string(f) +
                                                   ", got " + std::to_string(got) + ")");
  };
  if (py::isinstance<py::array>(v)) {
    py::array a = py::reinterpret_borrow<py::array>(v);
    const char kind = a.dtype().kind();
    if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
      throw py::type_error(std::string(what) + " must hold real numbers, got an array of dtype " + std::string(py::str(a.dtype())));
    if (a.ndim() != 1)
      throw py::value_error(std::string(what) + " must be one-dimensional, got " + std::to_string(a.ndim()) + " dimensions");
    auto floats = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(a);
    out.assign(floats.data(), floats.data() + floats.size());
    if (out.size() != static_cast<std::size_t>(f)) throw wrong_length(out.size());
    return out;
  }
  const Py_ssize_t length = PyObject_Size(v.ptr());
  if (length < 0) throw py::error_already_set();
  if (length != f) throw wrong_length(static_cast<std::size_t>(length));  // IndexError, as in Annoy
  out.reserve(static_cast<std::size_t>(f));
  for (int z = 0; z < f; ++z) {
    py::object key = py::int_(z);
    py::object x = py::reinterpret_steal<py::object>(PyObject_GetItem(v.ptr(), key.ptr()));
    if (!x) throw py::error_already_set();
    const double d = PyFloat_AsDouble(x.ptr());
    if (d == -1.0 && PyErr_Occurred()) throw py::error_already_set();
    out.push_back(static_cast<float>(d));
  }
  return out;
}

// Runs a long call (build) on a worker thread while this thread, the caller's, waits with the
// GIL released and checks for signals every 50 ms: on Ctrl-C it sets `stop`, which the core
// polls, waits for the call to end (it throws Cancelled and leaves the index as it was) and
// raises the KeyboardInterrupt; `undo` runs if the call finished all the same (the signal came
// as it ended). The worker never needs the GIL, so nothing can deadlock on it.
template <class Work, class Undo>
void run_interruptibly(std::atomic<bool>& stop, Work&& work, Undo&& undo) {
  std::mutex mutex;
  std::condition_variable changed;
  bool done = false;
  std::exception_ptr failure;
  std::thread worker([&] {
    try {
      work();
    } catch (...) {
      failure = std::current_exception();
    }
    std::lock_guard<std::mutex> hold(mutex);
    done = true;
    changed.notify_all();
  });
  bool interrupted = false;
  for (;;) {
    {
      py::gil_scoped_release release;
      std::unique_lock<std::mutex> hold(mutex);
      if (changed.wait_for(hold, std::chrono::milliseconds(50), [&] { return done; })) break;
    }
    if (!interrupted && PyErr_CheckSignals() != 0) {  // the handler's exception is now set
      interrupted = true;
      stop.store(true);
    }
  }
  worker.join();
  if (interrupted) {
    if (!failure) undo();
    throw py::error_already_set();
  }
  if (failure) std::rethrow_exception(failure);
}

// Annoy raises IOError (OSError) for every failure of save, load and on_disk_build.
template <class Call>
void file_call(Call&& call) {
  try {
    py::gil_scoped_release release;
    call();
  } catch (const grove::Error& e) {
    set_error(PyExc_OSError, e);
    throw py::error_already_set();
  }
}

py::object results(std::vector<std::int32_t>& ids, std::vector<float>& distances, bool include_distances) {
  py::list id_list = py::cast(ids);
  if (!include_distances) return std::move(id_list);
  return py::make_tuple(id_list, py::cast(distances));
}

// A 2-D float32 C-contiguous copy of a batch of queries, checked against f.
py::array_t<float, py::array::c_style | py::array::forcecast> to_batch(const py::handle& queries, int f) {
  if (!py::isinstance<py::array>(queries) && !PySequence_Check(queries.ptr()))
    throw py::type_error("queries must be a 2-D array of real numbers");
  py::array raw = py::array::ensure(queries);
  if (!raw) throw py::type_error("queries must be a 2-D array of real numbers");
  const char kind = raw.dtype().kind();
  if (kind != 'f' && kind != 'i' && kind != 'u' && kind != 'b')
    throw py::type_error("queries must hold real numbers, got dtype " + std::string(py::str(raw.dtype())));
  auto a = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(raw);
  if (a.ndim() != 2 || a.shape(1) != f)
    throw grove::Error(ErrorCode::InvalidArgument, "queries must have shape (count, " + std::to_string(f) + ")");
  return a;
}

template <class Search>
py::tuple batch(int f, const py::handle& queries, int n, Search&& search) {
  auto q = to_batch(queries, f);
  const std::size_t count = static_cast<std::size_t>(q.shape(0));
  if (n < 1) throw grove::Error(ErrorCode::InvalidArgument, "n must be at least 1, got " + std::to_string(n));
  py::array_t<std::int32_t> ids({count, static_cast<std::size_t>(n)});
  py::array_t<float> distances({count, static_cast<std::size_t>(n)});
  const float* in = q.data();
  std::int32_t* id_out = ids.mutable_data();
  float* dist_out = distances.mutable_data();
  {
    py::gil_scoped_release release;
    search(in, count, id_out, dist_out);
  }
  return py::make_tuple(ids, distances);
}

// Annoy's get_nns_by_item / get_nns_by_vector for any index type (AnnoyIndex, ShardedIndex),
// with the GIL released while searching.
// Annoy answers n = 0 and search_k = 0 with no results (it visits nothing); the C++ library
// refuses them as mistakes, so the binding answers them itself, after the same checks.
bool nothing_asked(int n, int search_k) { return n == 0 || search_k == 0; }

// Ids as Annoy takes them (a C int), with a clear IndexError beyond 32 bits rather than
// pybind's "incompatible function arguments".
std::int32_t to_id(const py::handle& i, const char* what) {
  if (!PyLong_Check(i.ptr()) && !PyIndex_Check(i.ptr()))
    throw py::type_error(std::string(what) + " must be an integer, got " + std::string(py::str(py::type::handle_of(i).attr("__name__"))));
  int overflow = 0;
  const long long value = PyLong_AsLongLongAndOverflow(py::reinterpret_steal<py::object>(PyNumber_Index(i.ptr())).ptr(), &overflow);
  if (value == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow || value > std::numeric_limits<std::int32_t>::max() || value < std::numeric_limits<std::int32_t>::min())
    throw grove::Error(ErrorCode::OutOfRange, std::string(what) + " " + std::string(py::str(i)) + " does not fit in 32 bits (ids are 0 to 2147483646)");
  return static_cast<std::int32_t>(value);
}

// The filter= argument of the queries: None (no filter), a numpy bool array of one entry per
// item, a callable taking an id, or any iterable of ids (a set, list, range, int array).
// A list of bools is refused: read as ids it would silently mean items 0 and 1.
grove::Filter to_filter(const py::handle& filter) {
  if (filter.is_none()) return grove::Filter();
  if (py::isinstance<py::array>(filter) && py::reinterpret_borrow<py::array>(filter).dtype().kind() == 'b') {
    auto mask = py::array_t<bool, py::array::c_style | py::array::forcecast>::ensure(filter);
    if (mask.ndim() != 1) throw grove::Error(ErrorCode::InvalidArgument, "a filter mask must be 1-D, one bool per item");
    std::vector<bool> allowed(static_cast<std::size_t>(mask.shape(0)));
    for (std::size_t i = 0; i < allowed.size(); ++i) allowed[i] = mask.data()[i];
    return grove::Filter::bits(allowed);
  }
  if (PyCallable_Check(filter.ptr())) {
    // Called with the GIL taken back (the search runs without it); the reference is dropped
    // under the GIL too, wherever the last copy of the filter goes.
    std::shared_ptr<py::object> fn(new py::object(py::reinterpret_borrow<py::object>(filter)), [](py::object* o) {
      py::gil_scoped_acquire gil;
      delete o;
    });
    return grove::Filter::function([fn](std::int32_t id) {
      py::gil_scoped_acquire gil;
      return py::bool_((*fn)(id)).cast<bool>();
    });
  }
  if (py::isinstance<py::str>(filter) || py::isinstance<py::bytes>(filter) || !py::hasattr(filter, "__iter__"))
    throw py::type_error("filter must be a numpy bool array, a container of ids or a callable, got " +
                         std::string(py::str(py::type::handle_of(filter).attr("__name__"))));
  std::vector<std::int32_t> ids;
  for (const py::handle& id : filter) {
    if (PyBool_Check(id.ptr())) throw py::type_error("filter ids must be integers, got a bool (a mask is a numpy bool array)");
    ids.push_back(to_id(id, "filter id"));
  }
  return grove::Filter::ids(ids);
}

template <class I>
py::object nns_by_item(const I& self, const py::handle& item, int n, int search_k, bool include_distances,
                       const py::handle& filter) {
  const std::int32_t i = to_id(item, "item");
  const grove::Filter allowed = to_filter(filter);
  std::vector<std::int32_t> ids;
  std::vector<float> distances;
  if (nothing_asked(n, search_k)) {
    self.get_item_vector(i);  // the id is still checked
    return results(ids, distances, include_distances);
  }
  {
    py::gil_scoped_release release;
    self.get_nns_by_item(i, n, search_k, &ids, include_distances ? &distances : nullptr, allowed);
  }
  return results(ids, distances, include_distances);
}

template <class I>
py::object nns_by_vector(const I& self, const py::handle& v, int n, int search_k, bool include_distances,
                         const py::handle& filter) {
  const std::vector<float> w = to_vector(v, self.get_f(), "query vector");
  const grove::Filter allowed = to_filter(filter);
  std::vector<std::int32_t> ids;
  std::vector<float> distances;
  if (nothing_asked(n, search_k)) return results(ids, distances, include_distances);
  {
    py::gil_scoped_release release;
    self.get_nns_by_vector(w.data(), n, search_k, &ids, include_distances ? &distances : nullptr, allowed);
  }
  return results(ids, distances, include_distances);
}

std::string metric_of(const py::object& metric) {
  if (metric.is_none()) {
    PyErr_WarnEx(PyExc_FutureWarning,
                 "The default argument for metric will be removed in a future version, as in Annoy. "
                 "Please pass metric='angular' explicitly.", 1);
    return "angular";
  }
  if (!py::isinstance<py::str>(metric)) throw py::type_error("metric must be a string");
  return metric.cast<std::string>();
}

}  // namespace

int grove_cli_main(int argc, char** argv);  // native/tools/grove_cli.cpp

namespace {
// An item's vector with the GIL released: the call waits for the index's lock, which a build
// on another thread holds, and other Python threads should run meanwhile.
template <class I>
std::vector<float> released(const I& self, std::int32_t item) {
  py::gil_scoped_release release;
  return self.get_item_vector(item);
}
}  // namespace

PYBIND11_MODULE(_grove, m) {
  m.doc() = "Grove: approximate nearest neighbours in Annoy's file format (native module).";
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const grove::Error& e) {
      raise(e);
    }
  });

  py::class_<AnnoyIndex>(m, "AnnoyIndex", "Annoy's AnnoyIndex: the same methods, defaults and file format.")
      .def(py::init([](int f, const py::object& metric) { return new AnnoyIndex(f, metric_of(metric)); }),
           py::arg("f"), py::arg("metric") = py::none())
      .def_property_readonly("f", &AnnoyIndex::get_f)
      .def("add_item",
           [](AnnoyIndex& self, const py::handle& i, const py::handle& v) {
             const std::int32_t id = to_id(i, "item id");
             const std::vector<float> w = to_vector(v, self.get_f(), "vector");
             py::gil_scoped_release release;  // waits for queries on other threads
             self.add_item(id, w);
           },
           py::arg("i"), py::arg("vector"),
           "add_item(i, vector): stores `vector` (f real numbers: a list, tuple, any sequence or numpy array) as item i (0 <= i < 2**31 - 1). Ids need not be contiguous: the index holds max(i) + 1 items, holes included. After build() too (unlike Annoy): the item goes into every tree and the next query finds it; an id already in gets the new vector. A loaded index is read-only: thaw() first.")
      .def("remove_item",
           [](AnnoyIndex& self, const py::handle& i) {
             const std::int32_t id = to_id(i, "item");
             py::gil_scoped_release release;
             return self.remove_item(id), true;
           },
           py::arg("i"),
           "remove_item(i): takes item i out of the index: no query returns it again, and get_item_vector, get_distance and get_nns_by_item raise IndexError for it; add_item(i, v) puts it back. get_n_items() does not change (max id + 1). save() writes it as a hole, which Annoy never returns either. Returns True.")
      .def("remove_items",
           [](AnnoyIndex& self, const py::handle& items) {
             if (py::isinstance<py::str>(items) || py::isinstance<py::bytes>(items) || !py::hasattr(items, "__iter__"))
               throw py::type_error("items must be a container of ids, got " + std::string(py::str(py::type::handle_of(items).attr("__name__"))));
             std::vector<std::int32_t> ids;
             for (const py::handle& id : items) ids.push_back(to_id(id, "item"));
             py::gil_scoped_release release;
             return self.remove_items(ids.data(), ids.size()), true;
           },
           py::arg("items"),
           "remove_items(items): remove_item for each id of a container (a list, set, range or int array); every id is checked (an item in the index, listed once) before any is removed. Returns True.")
      .def("thaw", [](AnnoyIndex& self) {
        py::gil_scoped_release release;
        return self.thaw(), true;
      },
           "thaw(): makes a loaded (read-only) index an in-memory copy that takes add_item and remove_item, as if just built; the file is not touched. A built index is left as it is. Returns True.")
      .def("build",
           [](AnnoyIndex& self, int n_trees, int n_jobs) {
             std::atomic<bool> stop{false};
             run_interruptibly(stop, [&] { self.build(n_trees, n_jobs, &stop); }, [&] {
               try {
                 self.unbuild();
               } catch (const grove::Error&) {  // an on-disk build, already published, stays
               }
             });
             return true;
           },
           py::arg("n_trees"), py::arg("n_jobs") = -1,
           "build(n_trees, n_jobs=-1): builds n_trees trees (-1: as many as fit twice the items' memory, as Annoy decides) on n_jobs threads (-1: all cores); the trees do not depend on n_jobs. Returns True. Ctrl-C stops it within a fraction of a second (KeyboardInterrupt), leaving the index unbuilt with its items.")
      .def("unbuild", [](AnnoyIndex& self) {
        py::gil_scoped_release release;
        return self.unbuild(), true;
      },
           "unbuild(): drops the trees so that items can be added again. Returns True.")
      .def("save",
           [](AnnoyIndex& self, const std::string& fn, bool prefault) {
             file_call([&] { self.save(fn, prefault); });
             return true;
           },
           py::arg("fn"), py::arg("prefault") = false,
           "save(fn, prefault=False): writes the index to fn atomically (and its compact companion fn + '.sq8'), then the index is a read-only memory map of fn, as in Annoy. Returns True; OSError on failure.")
      .def("load",
           [](AnnoyIndex& self, const std::string& fn, bool prefault) {
             file_call([&] { self.load(fn, prefault); });
             return true;
           },
           py::arg("fn"), py::arg("prefault") = false,
           "load(fn, prefault=False): memory-maps the index file fn (Annoy's or Grove's) read-only, shared between processes; prefault reads it all in now. Returns True; OSError on failure.")
      .def("unload", [](AnnoyIndex& self) {
        py::gil_scoped_release release;  // waits for queries on other threads
        return self.unload(), true;
      },
           "unload(): releases the index (file mapping or memory); the object is empty again. Returns True.")
      .def("on_disk_build", [](AnnoyIndex& self, const std::string& fn) { return file_call([&] { self.on_disk_build(fn); }), true; },
           py::arg("fn"),
           "on_disk_build(fn): builds straight into the file fn (for data larger than memory); call before add_item(). After build() the index is that file, read-only. Returns True.")
      .def("get_nns_by_item", &nns_by_item<AnnoyIndex>,
           py::arg("i"), py::arg("n"), py::arg("search_k") = -1, py::arg("include_distances") = false, py::kw_only(),
           py::arg("filter") = py::none(),
           "get_nns_by_item(i, n, search_k=-1, include_distances=False, *, filter=None): the n nearest items to item i, nearest first (with their distances if asked: a tuple of two lists). search_k: candidates to collect (-1: n * trees); n = 0 or search_k = 0 answer []. filter: only these items are returned (a numpy bool array of get_n_items() entries, a container of ids, or a callable taking an id); the search goes on until it has n of them.")
      .def("get_nns_by_vector", &nns_by_vector<AnnoyIndex>,
           py::arg("vector"), py::arg("n"), py::arg("search_k") = -1, py::arg("include_distances") = false, py::kw_only(),
           py::arg("filter") = py::none(),
           "get_nns_by_vector(vector, n, search_k=-1, include_distances=False, *, filter=None): the n nearest items to a query vector of f real numbers, nearest first (with distances if asked). search_k and filter as in get_nns_by_item.")
      .def("get_nns_by_vectors",
           [](const AnnoyIndex& self, const py::handle& queries, int n, int search_k, int n_jobs, const py::handle& filter) {
             const grove::Filter allowed = to_filter(filter);
             return batch(self.get_f(), queries, n, [&](const float* q, std::size_t count, std::int32_t* ids, float* d) {
               self.get_nns_by_vectors(q, count, n, search_k, ids, d, n_jobs, allowed);
             });
           },
           py::arg("queries"), py::arg("n"), py::arg("search_k") = -1, py::arg("n_jobs") = -1, py::kw_only(), py::arg("filter") = py::none(),
           "Batch: a 2-D array of queries; returns (ids, distances) arrays of shape (count, n), padded with -1 and nan. filter as in get_nns_by_item, for every query.")
      .def("get_item_vector", [](const AnnoyIndex& self, const py::handle& i) { return released(self, to_id(i, "item")); }, py::arg("i"),
           "get_item_vector(i): item i's stored vector, as a list of floats (hamming: of 0s and 1s).")
      .def("get_distance",
           [](const AnnoyIndex& self, const py::handle& i, const py::handle& j) {
             const std::int32_t a = to_id(i, "item"), b = to_id(j, "item");
             py::gil_scoped_release release;
             return self.get_distance(a, b);
           },
           py::arg("i"), py::arg("j"),
           "get_distance(i, j): the distance between items i and j, on the scale queries report (angular: sqrt(2 - 2 cos); dot: the dot product).")
      .def("get_n_items", &AnnoyIndex::get_n_items, py::call_guard<py::gil_scoped_release>(),
           "get_n_items(): the number of items (max id + 1, holes and removed items included).")
      .def("get_n_trees", &AnnoyIndex::get_n_trees, py::call_guard<py::gil_scoped_release>(),
           "get_n_trees(): the number of trees.")
      .def("set_seed", [](AnnoyIndex& self, std::uint64_t s) { self.set_seed(s); }, py::arg("seed"), py::call_guard<py::gil_scoped_release>(),
           "set_seed(seed): the seed of the next build (0 to 2**64 - 1); the same seed and items give the same trees.")
      .def("verbose", [](AnnoyIndex& self, bool v) { return self.verbose(v), true; }, py::arg("v"), py::call_guard<py::gil_scoped_release>(),
           "verbose(v): build progress on stderr when True. Returns True.")
      .def("set_annoy_float_order", &AnnoyIndex::set_annoy_float_order, py::arg("on"),
           "set_annoy_float_order(on): builds and distances in Annoy's scalar float order, so a build writes the same file as Annoy's (slower); before add_item(). Default False: Grove's SIMD order, the same bits on every machine.")
      .def("set_memory_limit", &AnnoyIndex::set_memory_limit, py::arg("bytes"),
           "set_memory_limit(bytes): the most memory add_item may grow the items to (refuses huge ids early); 0 for no limit.")
      .def("set_dot_layout",
           [](AnnoyIndex& self, const std::string& layout) {
             grove::DotLayout value;
             if (!grove::parse_dot_layout(layout, &value))
               throw grove::Error(ErrorCode::InvalidArgument, "dot layout must be 'released' or 'main', got '" + layout + "'");
             self.set_dot_layout(value);
           },
           py::arg("layout"),
           "set_dot_layout(layout): for dot indexes, the node layout the next build writes: 'released' (every released Annoy reads it; the default) or 'main' (Annoy's unreleased main branch).")
      .def("serialize", [](const AnnoyIndex& self) {
        const std::vector<std::uint8_t> bytes = self.serialize();
        return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
           "serialize(): the index as bytes, exactly the file save() writes (Annoy's format).")
      .def("deserialize",
           [](AnnoyIndex& self, const py::bytes& data, const py::object& companion) {
             const std::string bytes = data;
             const std::string extra = companion.is_none() ? std::string() : std::string(py::bytes(companion));
             py::gil_scoped_release release;
             self.deserialize(bytes.data(), bytes.size());
             if (!companion.is_none()) self.deserialize_companion(extra.data(), extra.size());
             return true;
           },
           py::arg("bytes"), py::arg("companion") = py::none(),
           "deserialize(bytes, companion=None): loads an index from bytes (copied), and its compact companion if given. Returns True; OSError for bytes that are not an index for this f and metric.")
      // Compact scoring: on by default; the answers are the same either way.
      .def("set_compact_scoring", &AnnoyIndex::set_compact_scoring, py::arg("on"),
           "set_compact_scoring(on): scores candidates on 8-bit codes before ranking the best exactly (default True). The answers are the same either way; off saves the companion's memory.")
      .def("get_compact_scoring", &AnnoyIndex::get_compact_scoring,
           "get_compact_scoring(): whether compact scoring is on.")
      .def("set_graph_search", &AnnoyIndex::set_graph_search, py::arg("on"),
           "set_graph_search(on): while on (the default; float metrics with compact scoring), build() also grows a neighbour graph from the trees (kept in the compact companion) that queries walk instead of visiting more of the trees: several times the queries a second at the same recall on real-valued embeddings, for a longer build. A loaded companion's graph is walked too. search_k keeps its meaning; without a graph (off, an Annoy file alone, items added since build), queries search the trees.")
      .def("get_graph_search", &AnnoyIndex::get_graph_search, "get_graph_search(): whether graph search is on.")
      .def("build_graph",
           [](AnnoyIndex& self, int n_jobs) {
             std::atomic<bool> stop{false};
             bool grown = false;
             run_interruptibly(stop, [&] { grown = self.build_graph(n_jobs, &stop); }, [] {});
             return grown;
           },
           py::arg("n_jobs") = -1,
           "build_graph(n_jobs=-1): grows the graph for the index as it is, built or loaded (an Annoy file included), into its compact companion, and turns graph search on; save(fn) to a loaded index's own fn then writes just fn + '.sq8'. Returns False, with no graph, for fewer than 1,000 items. Ctrl-C stops it (KeyboardInterrupt), the index as it was.")
      .def("wants_companion", &AnnoyIndex::wants_companion,
           "Whether save() writes a compact companion and load() looks for one (compact scoring on, a float metric).")
      .def("serialize_companion", [](const AnnoyIndex& self) {
        const std::vector<std::uint8_t> bytes = self.serialize_companion();
        return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      },
           "serialize_companion(): the compact companion as bytes (what save() writes to fn + '.sq8'), made now if there is none yet.")
      .def("companion_size", &AnnoyIndex::companion_size,
           "companion_size(): the compact companion's size in bytes.")
      .def("deserialize_companion",
           [](AnnoyIndex& self, const py::bytes& data) {
             const std::string bytes = data;
             return self.deserialize_companion(bytes.data(), bytes.size());
           },
           py::arg("bytes"),
           "deserialize_companion(bytes): offers a compact companion for the loaded index; returns whether it was taken (one made for another index is ignored, and made again on the first query).")
      // Annoy's bytes plus f and metric: how indexes travel to Dask workers. With graph search
      // on, the companion (codes and graph) and the switch travel too.
      .def(py::pickle(
          [](const AnnoyIndex& self) {
            const std::vector<std::uint8_t> bytes = self.serialize();
            auto as_bytes = [](const std::vector<std::uint8_t>& b) { return py::bytes(reinterpret_cast<const char*>(b.data()), b.size()); };
            if (!self.get_graph_search())
              return py::make_tuple(self.get_f(), grove::metric_name(self.get_metric()), as_bytes(bytes));
            const std::vector<std::uint8_t> companion = self.wants_companion() ? self.serialize_companion() : std::vector<std::uint8_t>();
            return py::make_tuple(self.get_f(), grove::metric_name(self.get_metric()), as_bytes(bytes), as_bytes(companion), true);
          },
          [](const py::tuple& state) {
            if (state.size() != 3 && state.size() != 5) throw py::value_error("not a pickled grove.AnnoyIndex");
            std::unique_ptr<AnnoyIndex> index(new AnnoyIndex(state[0].cast<int>(), state[1].cast<std::string>()));
            const std::string bytes = state[2].cast<py::bytes>();
            if (state.size() == 5) index->set_graph_search(state[4].cast<bool>());
            index->deserialize(bytes.data(), bytes.size());
            if (state.size() == 5) {
              const std::string companion = state[3].cast<py::bytes>();
              if (!companion.empty()) index->deserialize_companion(companion.data(), companion.size());
            }
            return index.release();
          }));

  py::class_<grove::ShardedIndex>(m, "ShardedIndex",
                                  "A sharded index: a JSON manifest and its Annoy-format shard files, searched together.")
      .def(py::init([](const std::string& manifest, bool prefault) {
             py::gil_scoped_release release;
             return new grove::ShardedIndex(grove::open_sharded(manifest, prefault));
           }),
           py::arg("manifest"), py::arg("prefault") = false)
      .def_property_readonly("f", &grove::ShardedIndex::get_f)
      .def_property_readonly("metric", [](const grove::ShardedIndex& self) { return grove::metric_name(self.get_metric()); })
      .def("manifest", [](const grove::ShardedIndex& self) { return grove::manifest_json(self.manifest()); },
           "The manifest as JSON text.")
      .def("get_n_items", &grove::ShardedIndex::get_n_items,
           "get_n_items(): the items of every shard (the end of the last shard's ids).")
      .def("get_n_shards", &grove::ShardedIndex::get_n_shards,
           "get_n_shards(): the number of shards.")
      .def("get_item_vector", [](const grove::ShardedIndex& self, const py::handle& i) { return released(self, to_id(i, "item")); }, py::arg("i"),
           "get_item_vector(i): item i's vector, from the shard holding it.")
      .def("get_nns_by_item", &nns_by_item<grove::ShardedIndex>,
           py::arg("i"), py::arg("n"), py::arg("search_k") = -1, py::arg("include_distances") = false, py::kw_only(),
           py::arg("filter") = py::none(),
           "get_nns_by_item(i, n, search_k=-1, include_distances=False, *, filter=None): as AnnoyIndex's, over every shard, the answers merged exactly; filter names global ids.")
      .def("get_nns_by_vector", &nns_by_vector<grove::ShardedIndex>,
           py::arg("vector"), py::arg("n"), py::arg("search_k") = -1, py::arg("include_distances") = false, py::kw_only(),
           py::arg("filter") = py::none(),
           "get_nns_by_vector(vector, n, search_k=-1, include_distances=False, *, filter=None): as AnnoyIndex's, over every shard, the answers merged exactly; filter names global ids.")
      .def("get_nns_by_vectors",
           [](const grove::ShardedIndex& self, const py::handle& queries, int n, int search_k, const py::handle& filter) {
             const grove::Filter allowed = to_filter(filter);
             return batch(self.get_f(), queries, n, [&](const float* q, std::size_t count, std::int32_t* ids, float* d) {
               self.get_nns_by_vectors(q, count, n, search_k, ids, d, nullptr, allowed);
             });
           },
           py::arg("queries"), py::arg("n"), py::arg("search_k") = -1, py::kw_only(), py::arg("filter") = py::none(),
           "Batch over every shard: a 2-D array of queries; returns (ids, distances) arrays of shape (count, n), padded with -1 and nan; filter names global ids.");

  m.def("_cli",
        [](std::vector<std::string> args) {
          std::vector<char*> argv;
          for (std::string& a : args) argv.push_back(&a[0]);
          argv.push_back(nullptr);
          py::gil_scoped_release release;
          const int status = grove_cli_main(static_cast<int>(args.size()), argv.data());
          std::fflush(stdout);
          std::fflush(stderr);
          return status;
        },
        py::arg("argv"), "Runs the grove command line (argv as sys.argv); returns its exit status.");
  m.def("save_manifest",
        [](const std::string& path, const std::string& json) { grove::save_manifest(path, grove::parse_manifest(json)); },
        py::arg("path"), py::arg("json"),
        "Validates a manifest (JSON text) and writes it atomically in Grove's canonical form.");
  m.def("parse_manifest", [](const std::string& json) { return grove::manifest_json(grove::parse_manifest(json)); },
        py::arg("json"), "Validates a manifest; returns it in canonical form (raises OSError naming the problem).");
}
