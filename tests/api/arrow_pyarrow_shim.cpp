// A C ABI over a Sluice job for arrow_pyarrow_test.py: Python (ctypes) starts a windowed job,
// pushes pyarrow record batches through the Arrow C data interface and takes the windows back
// the same way.
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/sluice.hpp"

namespace {

struct TestJob {
  sluice::Engine engine;
  std::mutex mutex;
  std::vector<std::pair<ArrowArray, ArrowSchema>> results;  ///< exported windows, in order
  std::unique_ptr<sluice::Job> job;

  explicit TestJob(const sluice::EngineConfig& config) : engine(config) {}
  ~TestJob() {
    job.reset();
    for (auto& [array, schema] : results) {
      if (array.release != nullptr) array.release(&array);
      if (schema.release != nullptr) schema.release(&schema);
    }
  }
};

int fail(const std::exception& e, char* error, int error_size) {
  if (error != nullptr && error_size > 0) {
    std::strncpy(error, e.what(), static_cast<std::size_t>(error_size) - 1);
    error[error_size - 1] = '\0';
  }
  return -1;
}

}  // namespace

extern "C" {

/// Starts a job over `schema` ("ts:timestamp[ms],host:string,..."): a `window` by `key` of the
/// `aggregates`, event time `time_column` with `max_delay`, on `workers` CPU workers. Null on
/// failure, with the message in `error`.
void* sluice_test_job_start(const char* schema, const char* time_column, const char* key,
                            const char* window, const char* aggregates, const char* max_delay,
                            int workers, char* error, int error_size) {
  try {
    sluice::EngineConfig config;
    config.backend = sluice::Backend::cpu;
    config.workers = workers;
    auto test = std::make_unique<TestJob>(config);
    sluice::Query query;
    query.key_by({key})
        .event_time(time_column, sluice::parse_duration(max_delay))
        .window(sluice::parse_window(window))
        .aggregate(sluice::parse_aggregates(aggregates))
        .sink([t = test.get()](const sluice::Batch& windows) {
          const std::lock_guard lock(t->mutex);
          auto& [array, out_schema] = t->results.emplace_back();
          sluice::export_arrow(windows, &array, &out_schema);
        });
    test->job =
        std::make_unique<sluice::Job>(test->engine.start(sluice::parse_schema(schema), query));
    return test.release();
  } catch (const std::exception& e) {
    fail(e, error, error_size);
    return nullptr;
  }
}

/// Pushes a record batch: `array` is moved in, `schema` read and then released. 0, or -1 with
/// the message in `error` (the array is then still the caller's).
int sluice_test_job_push(void* job, ArrowArray* array, ArrowSchema* schema, char* error,
                         int error_size) {
  auto* test = static_cast<TestJob*>(job);
  try {
    test->job->push_arrow(array, schema);
    schema->release(schema);
    return 0;
  } catch (const std::exception& e) {
    schema->release(schema);
    return fail(e, error, error_size);
  }
}

/// Fires every window. The count of result batches, or -1 with the message in `error`.
int sluice_test_job_finish(void* job, char* error, int error_size) {
  auto* test = static_cast<TestJob*>(job);
  try {
    test->job->finish();
    return static_cast<int>(test->results.size());
  } catch (const std::exception& e) {
    return fail(e, error, error_size);
  }
}

/// Events the job counted as malformed (rows with nulls, here).
long long sluice_test_job_malformed(void* job) {
  return static_cast<long long>(static_cast<TestJob*>(job)->job->metrics().events_malformed);
}

/// Moves result batch `i` into `array` and `schema` (the caller's to release from then on).
void sluice_test_job_take_result(void* job, int i, ArrowArray* array, ArrowSchema* schema) {
  auto& [a, s] = static_cast<TestJob*>(job)->results.at(static_cast<std::size_t>(i));
  *array = a;
  *schema = s;
  a.release = nullptr;
  s.release = nullptr;
}

void sluice_test_job_free(void* job) { delete static_cast<TestJob*>(job); }

}  // extern "C"
