// Job::Impl: taking checkpoints, and restoring one when the job resumes.
#include <algorithm>
#include <sstream>

#include "host/engine/job_impl.hpp"
#include "host/engine/snapshot_words.hpp"

namespace sluice {
namespace {

std::vector<std::size_t> read_widths_of(const Schema& schema,
                                        const std::vector<std::size_t>& read) {
  std::vector<std::size_t> w;
  for (std::size_t c : read) w.push_back(type_width(schema.field(c).type.id));
  return w;
}

}  // namespace

std::string Job::Impl::fingerprint() const {
  // What decides the meaning of the state: the input, the query as compiled (its programs, keys,
  // aggregates and window) and how keys are spread over workers. A checksum stands for the
  // programs; the rest is spelled out, so that a mismatch can be read.
  std::uint32_t programs = 0;
  const auto mix = [&programs](std::uint64_t word) {
    programs = detail::crc32c(&word, sizeof word, programs);
  };
  for (const detail::Instr& i : query_.plan.code) {
    mix(static_cast<std::uint64_t>(i.op));
    mix(static_cast<std::uint64_t>(i.type));
    mix(static_cast<std::uint64_t>(i.out));
    mix(i.column);
    mix(i.imm);
  }
  for (const detail::ProgramRef& p : query_.plan.programs) {
    mix(p.begin);
    mix(p.size);
    mix(static_cast<std::uint64_t>(p.result));
  }
  // A program names a LIKE pattern by its table alone: the patterns' texts count too, and so
  // does HAVING (it decides which windows the output has).
  for (const std::string& pattern : query_.patterns) {
    mix(pattern.size());
    programs = detail::crc32c(pattern.data(), pattern.size(), programs);
  }
  for (const detail::Instr& i : query_.having_code) {
    mix(static_cast<std::uint64_t>(i.op));
    mix(i.column);
    mix(i.imm);
  }
  const detail::PaneSpec& panes = query_.plan.aggregation.panes;
  std::ostringstream text;
  text << "schema " << schema_.to_string() << "; results " << query_.result_schema.to_string()
       << "; window " << panes.size << '/' << panes.slide << '+' << panes.offset
       << (panes.steps > 0 ? " cumulate" : "") << " lateness " << panes.lateness
       << (panes.global ? " global" : "") << "; delay " << query_.max_delay << "; workers "
       << workers_ << "; ranks " << ranks_ << " rank " << rank_ << "; partition "
       << static_cast<int>(config_.partition.kind) << "; programs " << std::hex << programs;
  return text.str();
}

void Job::Impl::set_position(int source, std::uint64_t position) {
  if (source < 0 || source > 65535)
    throw Error(ErrorCode::invalid_argument,
                "set_position: source " + std::to_string(source) + " is not in [0, 65535]");
  std::lock_guard lock(ingest_mutex_);
  if (positions_.size() <= static_cast<std::size_t>(source))
    positions_.resize(static_cast<std::size_t>(source) + 1, 0);
  positions_[static_cast<std::size_t>(source)] = position;
}

void Job::Impl::expect_source(int source) {
  if (source < 0 || source > 65535)
    throw Error(ErrorCode::invalid_argument,
                "expect_source: source " + std::to_string(source) + " is not in [0, 65535]");
  std::lock_guard lock(ingest_mutex_);
  if (finished_) throw Error(ErrorCode::invalid_argument, "expect_source after finish()");
  throw_if_failed();
  touch(source);  // idle from now on if it sends nothing (EngineConfig::source_idle_timeout)
  ingest_.expect_source(source);
}

void Job::Impl::checkpoint() {
  std::lock_guard lock(ingest_mutex_);
  if (!checkpoints_)
    throw Error(ErrorCode::invalid_argument,
                "checkpoint(): the job has no checkpoint directory (EngineConfig::checkpoint)");
  if (finished_) throw Error(ErrorCode::invalid_argument, "checkpoint() after finish()");
  throw_if_failed();
  take_checkpoint();
}

void Job::Impl::checkpoint_if_due() {
  if (!checkpoints_ || config_.checkpoint.every <= Duration::zero()) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_checkpoint_ < config_.checkpoint.every) return;
  take_checkpoint();
}

void Job::Impl::write_checkpoint() {
  // Rows pushed one by one join the forming micro-batch (which seals where it would have); an
  // empty round then has every worker save its state once the rounds before it ran and their
  // windows reached the sinks. The forming micro-batch and round are saved as rows.
  ingest_.flush_rows();
  const std::uint64_t saves_before = runners_.empty() || !runners_[0] ? 0 : runners_[0]->saves();
  for (;;) {
    dispatcher_.dispatch_checkpoint();
    wait_for_rounds(dispatcher_.rounds());
    // Across ranks the workers save only in a round that every rank asked for: this rank asks
    // again, round after round (its pushes wait meanwhile), until the others ask too. Once a
    // rank's input has ended there is no checkpoint.
    if (ranks_ == 1 || !query_.windowed || runners_[0]->saves() > saves_before) break;
    if (runners_[0]->peers_ended()) {
      last_checkpoint_ = std::chrono::steady_clock::now();
      return;
    }
  }

  detail::CheckpointImage image;
  image.fingerprint = fingerprint_;
  image.positions = positions_;
  image.sink_position = config_.checkpoint.commit_sinks ? config_.checkpoint.commit_sinks() : 0;
  {
    const DictionaryPtr dictionary = this->dictionary();
    image.code_limit = dictionary->code_limit();
    for (std::uint32_t c = 0; c < image.code_limit; ++c)
      if (dictionary->contains(c)) {
        image.codes.push_back(c);
        image.strings.emplace_back(dictionary->at(c));
      }
  }
  image.counters.assign(detail::kJobCounters, 0);
  image.counters[detail::kEventsIn] = ingest_.events();
  image.counters[detail::kEventsFiltered] = work_counters_.filtered;
  image.counters[detail::kEventsLate] = work_counters_.late;
  image.counters[detail::kEventsUnrepresentable] = work_counters_.unrepresentable;
  image.counters[detail::kEventsAggregated] = work_counters_.aggregated;
  image.counters[detail::kBatchesProcessed] = work_counters_.batches;
  image.counters[detail::kWindowsFired] = emit_counters_.windows_fired;
  image.counters[detail::kWindowUpdates] = emit_counters_.window_updates;
  image.counters[detail::kEventsMalformed] = malformed_;
  image.counters[detail::kStringsReclaimed] = strings_reclaimed_;
  image.counters[detail::kStringReclaims] = string_reclaims_;
  image.counters[detail::kNextReclaim] = next_reclaim_;
  image.counters[detail::kCheckpointsTaken] = checkpoints_taken_ + 1;
  for (const auto& w : per_worker_) image.per_worker_batches.push_back(w);
  const std::vector<std::size_t> widths = read_widths_of(schema_, query_.read_columns);
  {
    detail::WordWriter out(image.ingest);
    ingest_.save(out);
  }
  {
    // Batches of the forming round carry the broadcast snapshot they were sealed under: its
    // version, and the first time an earlier one appears, its rows.
    detail::WordWriter out(image.dispatch);
    const std::uint64_t current = broadcast_.snapshot() ? broadcast_.snapshot()->version : 0;
    std::vector<std::uint64_t> written;
    dispatcher_.save(out, widths, [&](detail::WordWriter& o, const detail::MicroBatch& b) {
      const std::uint64_t version = b.lookups ? b.lookup_version : 0;
      o.put(version);
      const bool rows = version != 0 && version != current &&
                        std::find(written.begin(), written.end(), version) == written.end();
      o.put(rows ? 1 : 0);
      if (!rows) return;
      written.push_back(version);
      detail::BroadcastState::save_snapshot(
          o, *std::static_pointer_cast<const detail::LookupSnapshot>(b.lookups_owner));
    });
  }
  {
    detail::WordWriter out(image.broadcast);
    broadcast_.save(out);
  }
  for (const auto& runner : runners_) {
    if (!runner) throw Error(ErrorCode::internal, "a worker had not started at a checkpoint");
    image.workers.push_back(runner->saved_state());
  }
  std::vector<std::uint64_t> body;
  image.encode(body);
  checkpoints_->write(checkpoint_id_ + 1, body);
  ++checkpoint_id_;
  ++checkpoints_taken_;
  checkpoint_bytes_ = body.size() * sizeof(std::uint64_t);
  last_checkpoint_ = std::chrono::steady_clock::now();
}

void Job::Impl::restore(const detail::CheckpointImage& image) {
  if (image.fingerprint != fingerprint_)
    throw Error(ErrorCode::invalid_argument,
                "checkpoint " + resumed_.path + " is of another job: it has '" + image.fingerprint +
                    "', this job is '" + fingerprint_ + "'");
  if (image.workers.size() != static_cast<std::size_t>(workers_) ||
      image.per_worker_batches.size() != static_cast<std::size_t>(workers_))
    throw Error(ErrorCode::invalid_argument,
                "checkpoint " + resumed_.path + " holds " + std::to_string(image.workers.size()) +
                    " workers' state; this job has " + std::to_string(workers_));
  checkpoint_id_ = resumed_.checkpoint;
  positions_ = image.positions;
  const auto& c = image.counters;
  work_counters_.filtered = c[detail::kEventsFiltered];
  work_counters_.late = c[detail::kEventsLate];
  work_counters_.unrepresentable = c[detail::kEventsUnrepresentable];
  work_counters_.aggregated = c[detail::kEventsAggregated];
  work_counters_.batches = c[detail::kBatchesProcessed];
  emit_counters_.windows_fired = c[detail::kWindowsFired];
  emit_counters_.window_updates = c[detail::kWindowUpdates];
  malformed_ = c[detail::kEventsMalformed];
  strings_reclaimed_ = c[detail::kStringsReclaimed];
  string_reclaims_ = c[detail::kStringReclaims];
  next_reclaim_ = c[detail::kNextReclaim];
  checkpoints_taken_ = c[detail::kCheckpointsTaken];
  for (std::size_t w = 0; w < per_worker_.size(); ++w) per_worker_[w] = image.per_worker_batches[w];
  {
    detail::WordReader in(image.broadcast, "broadcast state of checkpoint " + resumed_.path);
    broadcast_.restore(in);
    if (broadcast_.snapshot()) ingest_.set_lookups(broadcast_.snapshot());
  }
  {
    detail::WordReader in(image.dispatch, "forming round of checkpoint " + resumed_.path);
    std::vector<std::shared_ptr<const detail::LookupSnapshot>> earlier;
    dispatcher_.restore(in, pool_, [&](detail::WordReader& r, detail::MicroBatch& b) {
      const std::uint64_t version = r.get();
      std::shared_ptr<const detail::LookupSnapshot> snapshot;
      if (r.get() != 0) {
        snapshot = broadcast_.restore_snapshot(r);
        if (snapshot->version != version) r.fail("a batch's broadcast snapshot of another update");
        earlier.push_back(snapshot);
      } else if (version != 0) {
        if (broadcast_.snapshot() && broadcast_.snapshot()->version == version)
          snapshot = broadcast_.snapshot();
        for (const auto& e : earlier)
          if (e->version == version) snapshot = e;
        if (!snapshot) r.fail("a batch of broadcast update " + std::to_string(version));
      }
      if (!snapshot) return;
      b.lookups = &snapshot->tables;
      b.lookup_version = snapshot->version;
      b.lookups_owner = snapshot;
    });
  }
  {
    detail::WordReader in(image.ingest, "forming batch of checkpoint " + resumed_.path);
    ingest_.restore(in, c[detail::kEventsIn]);
  }
}

}  // namespace sluice
