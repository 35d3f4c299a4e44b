"""The benchmark workloads, one module per model family; ``WORKLOADS`` maps name -> runner."""
from . import generation, mlp, peak, process, recurrent, stream

# name -> function(settings, results so far) -> WorkloadResult, in the order they run.
WORKLOADS = {
    "mlp-small": mlp.run_mlp_small,
    "mlp-mnist": mlp.run_mlp_mnist,
    "predict-1": mlp.run_predict_one,
    "rnn": recurrent.run_rnn,
    "lstm": recurrent.run_lstm,
    "gru": recurrent.run_gru,
    "char-lstm": recurrent.run_char_lstm,
    "generation": generation.run_generation,
    "stream-lstm": stream.run_stream_lstm,
    "stream-gru": stream.run_stream_gru,
    "stream-rnn": stream.run_stream_rnn,
    "stream-cell": stream.run_stream_cell,
    "import": process.run_import_time,
    "peak-rss": process.run_peak_rss,
    "first-step": process.run_first_step,
    "matmul-peak": peak.run_matmul_peak,
}
