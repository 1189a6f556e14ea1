// @ts-check
// The wire format and anywidget's model, as JSDoc types only: no code, so nothing of this file
// reaches the bundle. Mirrors src/nbexp/_ui/protocol.py shape for shape (tests/test_widget_types.py
// checks it); other modules take what they use with `@import { RowJson } from "./protocol.js"`.

// -- the wire format ------------------------------------------------------------------------------
// Where Python types a field `Any`, its comment there says what it holds, and that is what is
// spelled out here.

/**
 * nbexp.progress.Progress.to_json(): a bar's reading; absent values are null.
 * @typedef {object} ProgressJson
 * @property {string} kind "tqdm", "rich" or "keras"
 * @property {string | null} description
 * @property {number | null} n
 * @property {number | null} total
 * @property {number | null} percent
 * @property {number | null} elapsed seconds
 * @property {number | null} remaining seconds: the ETA
 * @property {number | null} rate units per second
 * @property {string | null} unit
 * @property {string | null} n_text the count as the bar printed it, e.g. "4.5" (null: plain)
 * @property {string | null} total_text e.g. "10.0"
 * @property {string | null} count_unit e.g. "MB"
 * @property {Record<string, number>} metrics
 * @property {ProgressJson | null} inner nested bars: this reading is the outer bar's (epoch 2/3;
 *   percent and remaining cover the whole run) and `inner` the bar beneath it (batch 57/100)
 */

/**
 * One experiment in the table. The browser ticks the runtime itself from `started`/`ended`.
 * @typedef {object} RowJson
 * @property {number} id
 * @property {string} name
 * @property {string} status
 * @property {number | Array<number | string> | null} gpus assigned indices once started, else
 *   the request (a count, a list of indices or UUIDs, or null)
 * @property {number[] | null} assigned GPUs held now (running only)
 * @property {number | null} pid
 * @property {string} executor
 * @property {string | null} job_id
 * @property {number | null} started
 * @property {number | null} ended
 * @property {number | null} exit_code
 * @property {string | null} reason
 * @property {number} attempt
 * @property {string[]} actions what the state allows, e.g. ["stop"]
 * @property {ProgressJson | null} progress
 * @property {string | null} group its group (a sweep is one)
 * @property {Record<string, any> | null} params a sweep run's parameters
 * @property {string[]} tags
 * @property {FailureJson | null} failure why the current attempt failed
 * @property {string | null} attempts "attempt 2/3" when retries are allowed
 * @property {number} paused_seconds time the current attempt spent paused (left out of its runtime)
 * @property {number | null} paused_at when it was paused, while it is
 * @property {Record<string, number | null>} metrics latest value per metric of the current
 *   attempt, the main one first (at most 8; null for NaN); see RowMetricsJson
 * @property {string | null} main_metric the metric `spark` shows
 * @property {Array<number | null>} spark up to 32 values of main_metric over the attempt
 * @property {string | null} node the node a Slurm job runs (or ran) on
 * @property {number | null} time_limit seconds an attempt may run (timeout= or Slurm's --time):
 *   the page shows elapsed / limit from `started`
 */

/**
 * A row's metric fields (kept exact in the store; rounded to 5 significant digits here).
 * @typedef {object} RowMetricsJson
 * @property {Record<string, number | null>} metrics latest value per metric, main one first
 * @property {string | null} main_metric "loss" if printed, else a loss, else the first name
 * @property {Array<number | null>} spark up to 32 values of main_metric, oldest first
 */

/**
 * @typedef {object} FailureJson
 * @property {string} kind exception, cuda-oom, oom-killed, nccl, segfault, timeout, signal, exit
 * @property {string} summary one line, e.g. "ValueError: batch 0 has NaN in column 'loss'"
 */

/**
 * A run that just ended (or failed and will be retried): what its toast says.
 * @typedef {object} EndedJson
 * @property {number} id
 * @property {string} name
 * @property {string} status completed, error, interrupted; queued when a retry waits
 * @property {string | null} summary the failure's summary, or why it ended
 * @property {string | null} attempts "attempt 2/3" when retries are allowed
 */

/**
 * @typedef {object} GpuProcessJson
 * @property {number} pid
 * @property {string | null} user
 * @property {number | null} mem MiB
 */

/**
 * What rarely changes about one GPU.
 * @typedef {object} GpuInfoEntry
 * @property {number} index
 * @property {string | null} uuid
 * @property {string | null} name
 * @property {number | null} mem_total MiB
 * @property {number | null} power_limit W
 * @property {number[]} pids
 * @property {string | null} problem
 */

/**
 * @typedef {object} GpuInfo
 * @property {boolean} available
 * @property {boolean} simulated
 * @property {string | null} reason why there are no GPUs
 * @property {GpuInfoEntry[]} gpus
 */

/**
 * One reading of one GPU: [memory used MiB, utilisation %, temperature °C, power W].
 * @typedef {Array<number | null>} GpuReading
 */

/**
 * One GPU of a Slurm node, given to a job, as the job's telemetry sidecar read it.
 * @typedef {object} NodeGpuJson
 * @property {number} index the node's GPU index
 * @property {string | null} uuid
 * @property {string | null} name
 * @property {number | null} mem_total MiB
 * @property {number | null} power_limit W
 * @property {GpuReading} reading the latest: [memory used MiB, utilisation %, temperature °C, power W]
 * @property {GpuReading[]} history recent readings, oldest first (one per sidecar interval)
 * @property {number | null} job_mem MiB held by the job's own processes (null: NVML does not say)
 * @property {string | null} problem
 */

/**
 * The GPUs a running Slurm experiment was given, on its node.
 * @typedef {object} NodeGpusJson
 * @property {number} id the experiment
 * @property {string} name
 * @property {string | null} node
 * @property {string | null} job_id
 * @property {boolean} simulated
 * @property {boolean} stale the sidecar has not written for three of its intervals
 * @property {number | null} updated when it last read them (seconds since the epoch)
 * @property {number} interval seconds between its readings
 * @property {string | null} reason why there are no GPUs to show
 * @property {NodeGpuJson[]} gpus
 */

/**
 * A log line: plain text, or [text, [[start, end, css], ...]] when it has colours.
 * @typedef {string | [string, Array<[number, number, string]>]} LineJson
 */

/**
 * Lines of the selected experiment's log (every field optional, as Python's total=False). With
 * `reset`, the browser drops what it had and `lines` is a list starting at line `start`;
 * otherwise `lines` maps line numbers (as strings) to new contents and `stale` is a range of
 * lines to drop and fetch again if shown.
 * @typedef {object} LogPart
 * @property {boolean} [reset]
 * @property {number} [id]
 * @property {number} [attempt]
 * @property {number} [total]
 * @property {number} [start]
 * @property {LineJson[] | Record<string, LineJson>} [lines] a list (reset) or a map (delta)
 * @property {[number, number]} [stale] [from, to)
 * @property {string} [note] why there is no log to show
 * @property {AttemptJson[]} [attempts] every attempt (the attempt picker), with `reset`
 * @property {string} [end] the shown attempt ended: how, in words (the view draws the marker)
 */

// Kernel → browser. Python declares ticks and snapshots total=False; `type` is always sent.

/**
 * @typedef {object} TickMessage
 * @property {"tick"} type
 * @property {number} [now] the kernel's clock (seconds since the epoch)
 * @property {RowJson[]} [rows] new or changed rows
 * @property {number[]} [removed]
 * @property {GpuInfo} [gpu_info]
 * @property {GpuReading[]} [gpu]
 * @property {Record<string, GpuProcessJson[]>} [gpu_foreign] GPU index -> someone else's processes
 * @property {LogPart} [log]
 * @property {string[]} [problems] what went wrong this tick, in words
 * @property {Record<string, WindowJson>} [windows] view -> its window, when it changed
 * @property {CountsJson} [counts] when they changed
 * @property {number[]} [forget] rows no view shows any more
 * @property {Record<string, Array<[number, string]>>} [gpu_holders] GPU index -> [[id, name], …] of ours
 * @property {EndedJson[]} [ended] runs that ended since the last push (toasts)
 * @property {NodeGpusJson[]} [node_gpus] running Slurm experiments' node GPUs (when they changed)
 * @property {ChartPart} [chart] the chart's runs' new points
 */

/**
 * @typedef {object} SnapshotMessage
 * @property {"snapshot"} type
 * @property {number} [now]
 * @property {RowJson[]} [rows]
 * @property {GpuInfo} [gpu_info]
 * @property {GpuReading[]} [gpu]
 * @property {Record<string, GpuProcessJson[]>} [gpu_foreign]
 * @property {GpuReading[][]} [gpu_history] per GPU, oldest first
 * @property {string} [view] the view that said hello (the others keep their state)
 * @property {Record<string, WindowJson>} [windows] its window (`rows` holds that window's rows)
 * @property {CountsJson} [counts]
 * @property {Record<string, Array<[number, string]>>} [gpu_holders]
 * @property {NodeGpusJson[]} [node_gpus]
 * @property {LogPart} [log]
 */

/**
 * @typedef {object} LogLinesMessage
 * @property {"log_lines"} type
 * @property {number | null} req
 * @property {number} id
 * @property {number} attempt
 * @property {number} start
 * @property {number} total
 * @property {LineJson[]} lines
 */

/**
 * @typedef {object} ActionDoneMessage
 * @property {"action_done"} type
 * @property {number | null} req
 * @property {number} id
 * @property {string} action
 * @property {string} message
 * @property {RowJson | null} row null once removed
 */

/**
 * One run's points for the chart: [start, steps, values]. Keep the points before index
 * `start`, replace the rest with these; a null value is NaN/inf in the log (a gap).
 * @typedef {[number, number[], Array<number | null>]} ChartPoints
 */

/**
 * What the plotted runs printed since the last push.
 * @typedef {object} ChartPart
 * @property {string} metric
 * @property {Record<string, ChartPoints>} series experiment id -> its new points
 */

/**
 * The reply to a ChartRequest: the runs' whole histories of the metric shown.
 * @typedef {object} ChartDataMessage
 * @property {"chart_data"} type
 * @property {number | null} req
 * @property {string | null} metric the one asked for, else the runs' main metric
 * @property {string[]} metrics every metric the runs have
 * @property {Record<string, ChartPoints>} series experiment id -> [0, steps, values]
 */

/**
 * @typedef {object} ErrorMessage
 * @property {"error"} type
 * @property {number | null} req
 * @property {string} message
 */

// Browser → kernel.

/**
 * A view was drawn: send it everything.
 * @typedef {object} HelloMessage
 * @property {"hello"} type
 * @property {string} [view] its id, for its windows of the table
 * @property {number} [limit] the rows it shows at once
 */

/**
 * A view was removed.
 * @typedef {object} ByeMessage
 * @property {"bye"} type
 * @property {string} [view]
 */

// -- the runs table and the log view's tools (protocol_table.py) -------------------------------

/**
 * A group's summary line in the grouped table.
 * @typedef {object} GroupLineJson
 * @property {string} name
 * @property {number} total
 * @property {Record<string, number>} statuses members per status
 * @property {boolean} collapsed
 * @property {BestRunJson | null} best its best run, if any
 * @property {number | null} max_parallel
 * @property {boolean} paused
 */

/**
 * A group's best run by its main metric (a loss: the lowest; anything else: the highest).
 * @typedef {{metric: string, value: number, id: number, lower_is_better: boolean}} BestRunJson
 */

/**
 * What one view shows: items[i] is item offset + i of the table, an experiment id or (grouped)
 * a group's name.
 * @typedef {object} WindowJson
 * @property {string} view
 * @property {number} offset
 * @property {number} total items in the whole table (the scroll height)
 * @property {Array<number | string>} items
 * @property {Record<string, GroupLineJson>} groups
 */

/**
 * @typedef {object} CountsJson
 * @property {number} total experiments in the store
 * @property {number} matching past the group / text / hide-ended filters
 * @property {number} shown past the status chips too
 * @property {Record<string, number>} statuses per status, among `matching`
 * @property {string[]} groups group names, the newest first
 * @property {string[]} params parameter names among `matching`
 * @property {string[]} metrics metric names among `matching`
 */

/**
 * @typedef {object} RefusalJson
 * @property {number} id
 * @property {string} message
 */

/**
 * One attempt in the log view's attempt picker.
 * @typedef {object} AttemptJson
 * @property {number} attempt
 * @property {string} status
 * @property {string | null} end how it ended, in words
 */

/**
 * A view's window, in answer to its WindowRequest.
 * @typedef {object} RowsMessage
 * @property {"rows"} type
 * @property {number | null} req
 * @property {WindowJson} window
 * @property {RowJson[]} rows those of the window the page may lack
 * @property {CountsJson} counts
 * @property {number[]} forget rows the page may drop
 */

/**
 * @typedef {object} BulkDoneMessage
 * @property {"bulk_done"} type
 * @property {number | null} req
 * @property {string} action
 * @property {number[]} done
 * @property {RefusalJson[]} refused
 * @property {string} message
 */

/**
 * A start or restart refused for busy GPUs, with the actions that would queue or force it.
 * @typedef {object} ActionRefusedMessage
 * @property {"refused"} type
 * @property {number | null} req
 * @property {number} id
 * @property {string} action
 * @property {string} message
 * @property {string[]} offers e.g. ["queue start", "force start"]
 */

/**
 * @typedef {object} LogMatchesMessage
 * @property {"log_matches"} type
 * @property {number | null} req
 * @property {number} id
 * @property {number} attempt
 * @property {string} query
 * @property {number[]} matches line numbers, in order
 * @property {boolean} truncated more matched than were sent
 * @property {number} total lines searched
 */

/**
 * A piece of an export: base64 of raw bytes, or rendered text.
 * @typedef {object} LogChunkMessage
 * @property {"log_chunk"} type
 * @property {number | null} req
 * @property {number} id
 * @property {number} attempt
 * @property {string} format "raw" or "text"
 * @property {string} data
 * @property {number | null} cursor ask again from here; null: the last piece
 * @property {number} size the log file's size in bytes
 */

/**
 * @typedef {object} WindowRequest
 * @property {"window"} type
 * @property {number} req
 * @property {string} view
 * @property {number} offset
 * @property {number} limit
 */

/**
 * @typedef {object} BulkRequest
 * @property {"bulk"} type
 * @property {number} req
 * @property {string} action stop, restart, remove, start
 * @property {number[]} ids the selection…
 * @property {boolean} matching …or every one the filter shows
 */

/**
 * @typedef {object} LogSearchRequest
 * @property {"log_search"} type
 * @property {number} req
 * @property {number} id
 * @property {number} attempt
 * @property {string} query
 * @property {boolean} regex
 * @property {boolean} case match case
 */

/**
 * @typedef {object} LogExportRequest
 * @property {"log_export"} type
 * @property {number} req
 * @property {number} id
 * @property {number} attempt
 * @property {string} format "raw" or "text"
 * @property {number} cursor 0 first, then the last piece's cursor
 */

/**
 * @typedef {object} ActionRequest
 * @property {"action"} type
 * @property {number} req
 * @property {number} id
 * @property {string} action one of states.USER_ACTIONS
 */

/**
 * @typedef {object} ChartRequest
 * @property {"chart"} type
 * @property {number} req
 * @property {number[]} ids the runs to overlay (at most 50)
 * @property {string | null} metric null: their main metric
 */

/**
 * @typedef {object} LogRangeRequest
 * @property {"log_range"} type
 * @property {number} req
 * @property {number} id
 * @property {number} attempt
 * @property {number} start
 * @property {number} end
 */

/** @typedef {LogLinesMessage | ActionDoneMessage | ChartDataMessage | ErrorMessage | RowsMessage | BulkDoneMessage | ActionRefusedMessage | LogMatchesMessage | LogChunkMessage} Reply a message answering a request */
/** @typedef {TickMessage | SnapshotMessage | Reply} KernelMessage */
/** @typedef {HelloMessage | ByeMessage | ActionRequest | LogRangeRequest | ChartRequest | WindowRequest | BulkRequest | LogSearchRequest | LogExportRequest} BrowserMessage */
/** @typedef {Omit<ActionRequest, "req"> | Omit<LogRangeRequest, "req"> | Omit<ChartRequest, "req"> | Omit<WindowRequest, "req"> | Omit<BulkRequest, "req"> | Omit<LogSearchRequest, "req"> | Omit<LogExportRequest, "req">} RequestBody */

// -- anywidget's model, as far as these modules use it ------------------------------------------

/**
 * @template T the synced traits
 * @typedef {object} Model
 * @property {<K extends keyof T>(name: K) => T[K]} get
 * @property {<K extends keyof T>(name: K, value: T[K]) => void} set
 * @property {() => void} save_changes
 * @property {(content: BrowserMessage) => void} send
 * @property {(event: string, callback: (...args: any[]) => void) => void} on
 * @property {(event: string, callback: (...args: any[]) => void) => void} off
 */

/**
 * The traits of nbexp._ui.dashboard.Dashboard.
 * @typedef {object} DashboardTraits
 * @property {string} kind
 * @property {number | null} selected
 * @property {string[]} status_filter
 * @property {string} search
 * @property {number} interval
 * @property {string} home
 * @property {string} sort a column, "param:NAME" or "metric:NAME"
 * @property {boolean} descending highest (newest) first
 * @property {string} group_filter "" for every group
 * @property {boolean} hide_ended
 * @property {boolean} grouped rows under their group's line
 * @property {string[]} collapsed folded groups
 * @property {string[]} columns the table's columns ([]: the default ones)
 * @property {number | null} attempt the log's attempt (null: the latest)
 */

/**
 * The traits of nbexp._ui.card.ExperimentCard.
 * @typedef {object} CardTraits
 * @property {string} kind
 * @property {Partial<RowJson>} row {} once removed
 * @property {string[]} tail
 * @property {number} now
 */

export {};
