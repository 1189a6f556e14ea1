// @ts-check
// nbexp front end (anywidget ES module): the entry that js/build.mjs bundles into js/widget.js.
// One module draws both widgets: the dashboard (nbexp._ui.dashboard.Dashboard) and the compact
// experiment card (nbexp._ui.card.ExperimentCard), told apart by the model's `kind` trait.

// CSS imported by any module is bundled into js/widget.css (anywidget's `_css`).
import "./widget.css";
import { renderCard } from "./card.js";
import { renderDashboard } from "./dashboard.js";
/** @import { Model } from "./protocol.js" */

/** @param {{model: Model<any>, el: HTMLElement}} ctx */
function render({ model, el }) {
  return model.get("kind") === "card" ? renderCard({ model, el }) : renderDashboard({ model, el });
}

export default { render };
