// Reruns the fragment this element is in, once per new round (the front end of ui/training.py's
// rerun_panel). A fragment drawn by a full-page run cannot ask Streamlit to rerun it alone; a trigger
// from an element inside it can: the browser sends it scoped to that fragment.
const SEEN = "__nnKickRound";

export default function kick({data, parentElement, setTriggerValue}) {
  if (parentElement[SEEN] !== data.round) {
    parentElement[SEEN] = data.round;
    setTriggerValue("go", data.round);
  }
}
