/* The position of a site on a staff form (templates/admin/_geometry.html): the region's
   boundary, the current shape and Leaflet.draw tools for exactly one polygon (a parcel) or one
   marker (any other kind). Every change is written as GeoJSON into the form's textarea, which
   is what the server reads; without this script the textarea and the file input still work.

   The draw tools show while there is no shape, the edit and delete tools once there is one.
   A chosen GeoJSON file this script can read is drawn and taken off the file input, so later
   edits on the map are what is sent; one it cannot read stays for the server to explain. */
(function () {
  "use strict";
  if (!window.L || !L.Control || !L.Control.Draw) { return; }

  var BOUNDARY = {color: "#6e7781", weight: 2, dashArray: "6 4", fill: false, interactive: false};
  var SHAPE = {color: "#0b57d0", weight: 3, fillOpacity: 0.25};
  var SINGLE = {MultiPolygon: "Polygon", MultiPoint: "Point"};
  var GEOGRAPHIC = /CRS84|EPSG:{1,2}4326|EPSG:{1,2}4490/i;  // as GEOGRAPHIC_CRS in geometry.py

  function json(text) {
    if (!text) { return null; }
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  /* Whether a document names no coordinate system, or one in longitude and latitude. */
  function geographic(doc) {
    var name = doc.crs && doc.crs.properties && doc.crs.properties.name;
    return typeof name !== "string" || GEOGRAPHIC.test(name);
  }

  /* Whether every position in nested coordinate arrays is a longitude and a latitude. */
  function lonLat(coords) {
    if (!Array.isArray(coords) || !coords.length) { return false; }
    if (typeof coords[0] === "number") {
      return coords.length >= 2 && Math.abs(coords[0]) <= 180 && Math.abs(coords[1]) <= 90;
    }
    return coords.every(lonLat);
  }

  /* The one geometry of the expected type in a GeoJSON document, or null: the shapes the
     server takes (portal/sites/geometry.py), which still checks everything. A document this
     refuses is left for the server, whose message says what is wrong. */
  function single(doc, expected) {
    if (!doc || typeof doc !== "object" || !geographic(doc)) { return null; }
    if (doc.type === "FeatureCollection") {
      if (!Array.isArray(doc.features) || doc.features.length !== 1) { return null; }
      doc = doc.features[0];
    }
    if (doc && doc.type === "Feature") {
      if (!geographic(doc)) { return null; }
      doc = doc.geometry;
    }
    if (!doc || !lonLat(doc.coordinates)) { return null; }
    if (SINGLE[doc.type] === expected && doc.coordinates.length === 1) {
      return {type: expected, coordinates: doc.coordinates[0]};
    }
    return doc.type === expected ? {type: doc.type, coordinates: doc.coordinates} : null;
  }

  function localise(t) {
    var draw = L.drawLocal.draw, edit = L.drawLocal.edit;
    draw.toolbar.actions = {title: t.cancelTitle, text: t.cancel};
    draw.toolbar.finish = {title: t.finishTitle, text: t.finish};
    draw.toolbar.undo = {title: t.undo, text: t.undo};
    draw.toolbar.buttons.polygon = t.polygon;
    draw.toolbar.buttons.marker = t.marker;
    draw.handlers.polygon.tooltip = {start: t.polygonStart, cont: t.polygonCont,
      end: t.polygonEnd};
    draw.handlers.polyline.error = t.crossing;
    draw.handlers.marker.tooltip = {start: t.markerStart};
    edit.toolbar.actions = {
      save: {title: t.saveTitle, text: t.save},
      cancel: {title: t.cancelEditTitle, text: t.cancel},
      clearAll: {title: t.clearAll, text: t.clearAll}
    };
    edit.toolbar.buttons = {edit: t.edit, editDisabled: t.editDisabled, remove: t.remove,
      removeDisabled: t.removeDisabled};
    edit.handlers.edit.tooltip = {text: t.editTooltip, subtext: t.editSubtext};
    edit.handlers.remove.tooltip = {text: t.removeTooltip};
  }

  function setup(box) {
    var field = document.getElementById(box.getAttribute("data-field"));
    var file = document.getElementById(box.getAttribute("data-file"));
    var status = document.getElementById(box.getAttribute("data-status"));
    if (!field) { return; }
    var t = json(box.getAttribute("data-labels")) || {};
    localise(t);
    var expected = box.getAttribute("data-kind") === "parcel" ? "Polygon" : "Point";
    var details = field.closest("details");
    box.hidden = false;

    var map = L.map(box, {zoomControl: true, attributionControl: true});
    var tiles = json(box.getAttribute("data-tiles"));
    if (tiles && tiles.url && !tiles.gcj02) {
      var options = {attribution: tiles.attribution || "", maxZoom: 18};
      if (tiles.subdomains) { options.subdomains = tiles.subdomains; }
      L.tileLayer(tiles.url, options).addTo(map);
      if (tiles.overlay) { L.tileLayer(tiles.overlay, options).addTo(map); }
    }
    var boundary = json(box.getAttribute("data-boundary"));
    var outline = boundary ? L.geoJSON(boundary, {style: BOUNDARY}).addTo(map) : null;
    var drawn = L.featureGroup().addTo(map);

    var drawTools = new L.Control.Draw({
      position: "topleft",
      draw: {
        polygon: expected === "Polygon" ? {allowIntersection: false, showArea: false,
          shapeOptions: SHAPE} : false,
        marker: expected === "Point" ? {} : false,
        polyline: false, rectangle: false, circle: false, circlemarker: false
      },
      edit: false
    });
    var editTools = new L.Control.Draw({
      position: "topleft",
      draw: false,
      edit: {featureGroup: drawn, edit: {}, remove: {}}
    });
    var tools = null;
    var replacing = false;

    /* Called after Leaflet.draw has finished with the event at hand (setTimeout): it still
       reaches into the toolbar that fired it once the event's listeners have run. */
    function showTools() {
      var wanted = drawn.getLayers().length ? editTools : drawTools;
      if (tools === wanted) { return; }
      if (tools) { map.removeControl(tools); }
      tools = wanted.addTo(map);
    }

    /* The shape as GeoJSON text in the field: `geometry` as given, else the drawn layer's
       (Leaflet rounds its coordinates to 6 decimals, about 0.1 m). */
    function write(geometry) {
      var layers = drawn.getLayers();
      if (!geometry || !geometry.type) {
        geometry = layers.length ? layers[0].toGeoJSON().geometry : null;
      }
      field.value = geometry ? JSON.stringify(geometry) : "";
      field.dispatchEvent(new Event("input", {bubbles: true}));
    }

    function replace(layer) {
      replacing = true;
      drawn.clearLayers();
      replacing = false;
      drawn.addLayer(layer);
    }

    function fit() {
      var bounds = drawn.getLayers().length ? drawn.getBounds()
        : (outline ? outline.getBounds() : null);
      if (bounds && bounds.isValid()) {
        map.fitBounds(bounds, {maxZoom: 16, padding: [20, 20], animate: false});
      } else {
        map.setView([36, 104], 4);
      }
    }

    /* Shows `geometry` as the one shape; false when it is not one of the expected type. */
    function show(geometry) {
      if (!geometry) { return false; }
      var layer = null;
      try {
        L.geoJSON(geometry, {
          style: SHAPE,
          pointToLayer: function (f, ll) { return L.marker(ll); },
          onEachFeature: function (f, l) { layer = l; }
        });
      } catch (e) { return false; }  // coordinates Leaflet cannot read
      if (!layer) { return false; }
      replace(layer);
      return true;
    }

    var shown = show(single(json(field.value), expected) ||
      single(json(box.getAttribute("data-geometry")), expected));
    // The text folds away unless it holds something the map cannot show (sent back with an
    // error, say): then staff need to see it.
    if (details && (shown || !field.value.trim())) { details.open = false; }
    showTools();
    fit();

    map.on(L.Draw.Event.CREATED, function (e) {
      replace(e.layer);
      write();
      setTimeout(showTools, 0);
    });
    map.on([L.Draw.Event.EDITVERTEX, L.Draw.Event.EDITMOVE, L.Draw.Event.EDITED,
      L.Draw.Event.EDITSTOP].join(" "), function () { write(); });
    map.on([L.Draw.Event.DELETED, L.Draw.Event.DELETESTOP].join(" "), function () {
      write();
      setTimeout(showTools, 0);
    });
    // A shape clicked away in delete mode, before "save": the field follows what is shown.
    drawn.on("layerremove", function () { if (!replacing) { write(); } });

    field.addEventListener("change", function () {
      if (show(single(json(field.value), expected))) { showTools(); fit(); }
    });

    if (file && window.FileReader) {
      file.addEventListener("change", function () {
        var chosen = file.files && file.files[0];
        if (!chosen) { return; }
        var reader = new FileReader();
        reader.onload = function () {
          var geometry = single(json(String(reader.result).replace(/^\uFEFF/, "")), expected);
          if (geometry && show(geometry)) {
            write(geometry);
            showTools();
            fit();
            file.value = "";
            say(t.fromFile, chosen.name);
          } else {
            say(t.fileLater, chosen.name);
          }
        };
        reader.readAsText(chosen);
      });
    }

    function say(message, name) {
      if (status && message) { status.textContent = message.replace("{name}", name); }
    }

    // For the form's own scripts and the browser tests.
    box.geometryEditor = {map: map, layers: drawn, field: field,
      tools: function () { return tools; }};
    box.setAttribute("data-ready", "1");
  }

  var boxes = document.querySelectorAll("[data-geometry-editor]");
  for (var i = 0; i < boxes.length; i++) { setup(boxes[i]); }
})();
