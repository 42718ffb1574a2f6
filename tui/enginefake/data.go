package enginefake

import "carvision/engine"

// Categories seen in vehicles_us.csv, used for the fake model's schema.
var (
	carModels = []string{
		"acura tl", "bmw x5", "buick enclave", "cadillac escalade", "chevrolet camaro",
		"chevrolet colorado", "chevrolet equinox", "chevrolet malibu", "chevrolet silverado 1500",
		"chevrolet tahoe", "chrysler 300", "dodge charger", "dodge grand caravan", "ford escape",
		"ford explorer", "ford f-150", "ford f-250", "ford focus", "ford fusion", "ford mustang",
		"gmc sierra 1500", "honda accord", "honda civic", "honda cr-v", "honda odyssey",
		"hyundai elantra", "hyundai sonata", "jeep cherokee", "jeep grand cherokee", "jeep wrangler",
		"kia sorento", "mercedes-benz sprinter 2500", "nissan altima", "nissan rogue",
		"ram 1500", "subaru forester", "subaru outback", "toyota camry", "toyota corolla",
		"toyota highlander", "toyota prius", "toyota rav4", "toyota tacoma", "toyota tundra",
		"volkswagen jetta", "volkswagen passat",
	}
	conditions   = []string{"excellent", "good", "like new", "fair", "new", "salvage"}
	fuels        = []string{"gas", "diesel", "hybrid", "other", "electric"}
	transmission = []string{"automatic", "manual", "other"}
	bodyTypes    = []string{"SUV", "truck", "sedan", "pickup", "coupe", "wagon", "mini-van",
		"hatchback", "van", "convertible", "other", "offroad", "bus"}
	paints = []string{"white", "black", "silver", "grey", "blue", "red", "green", "brown",
		"custom", "yellow", "orange", "purple"}
)

func features() []engine.Feature {
	return []engine.Feature{
		{Name: "model_year", Kind: "numeric", Min: 1990, Max: 2019},
		{Name: "model", Kind: "categorical", Categories: carModels},
		{Name: "condition", Kind: "categorical", Categories: conditions},
		{Name: "cylinders", Kind: "numeric", Min: 3, Max: 12},
		{Name: "fuel", Kind: "categorical", Categories: fuels},
		{Name: "odometer", Kind: "numeric", Min: 1, Max: 499000},
		{Name: "transmission", Kind: "categorical", Categories: transmission},
		{Name: "type", Kind: "categorical", Categories: bodyTypes},
		{Name: "paint_color", Kind: "categorical", Categories: paints},
		{Name: "is_4wd", Kind: "numeric", Min: 0, Max: 1},
		{Name: "days_listed", Kind: "numeric", Min: 0, Max: 271},
		{Name: "vehicle_age", Kind: "numeric", Min: 0, Max: 29},
		{Name: "brand", Kind: "categorical", Categories: []string{"acura", "bmw", "buick", "cadillac",
			"chevrolet", "chrysler", "dodge", "ford", "gmc", "honda", "hyundai", "jeep", "kia",
			"mercedes-benz", "nissan", "ram", "subaru", "toyota", "volkswagen"}},
	}
}
